"""Research from offline Wikipedia: ``.zim`` archives read with ``libzim``.

:class:`ZimResearcher` looks up the artist and the painting title in each configured archive:

1. the title suggestion index (``SuggestionSearcher``), also with the painting title's main words
   ("Portrait of George IV" -> "George IV");
2. the full-text index (``Searcher``), only when the archive has one (``has_fulltext_index``);
3. a direct lookup of the title as a path, in the archive's path scheme (``A/Title`` or ``Title``).

Every hit is followed through its redirects and kept only when its title matches the query well: an artist
article's title must contain the artist's surname (or be part of the artist's name, with the surname in the
article's text, as "Rembrandt" for "Rembrandt van Rijn"); a painting article's title must contain the main
words of the painting's title. The lead section of the HTML is turned into plain sentences with the stdlib
:mod:`html.parser` and the most informative ones (years, places, "painted", "born", ...) become facts, each
with its :class:`~vivant.roles.Source`. Nothing is invented: no article means no facts, and ``searched``
says what was looked up where.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from vivant.errors import ConfigError
from vivant.roles import Fact, Painting, ResearchNotes, Source

log = logging.getLogger(__name__)


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_SUGGESTIONS = 20
"""How many title suggestions are looked at per query."""
_FULLTEXT_HITS = 10
"""How many full-text hits are looked at per query."""
_MAX_REDIRECTS = 8
_MIN_WORDS, _MAX_WORDS = 6, 70
"""A sentence shorter or longer than this (in words) is not kept as a fact."""

_PARTICLES = _wordset("van von de da di del della der den du le la les des ten ter y e of the and")
_TITLE_STOPWORDS = _wordset(
    "a an the of with in on at by and or to for from de du des la le les l d un une et au aux "
    "en portrait self detail crop thumbnail px"
)
"""Words of a painting title that do not identify it ("Portrait of ...", "(detail crop)")."""

_SKIP_TAGS = _wordset("script style table sup figure figcaption head title noscript math audio video nav footer ol ul")
_SKIP_CLASSES = _wordset(
    "reference references reflist mw-references-wrap infobox navbox hatnote noprint metadata "
    "mw-empty-elt thumb gallery toc mw-editsection ambox shortdescription sidebar mw-ref IPA "
    "noexcerpt rt-commentedText"
)
_VOID_TAGS = _wordset("area base br col embed hr img input link meta param source track wbr")
_HEADINGS = frozenset({"h2", "h3", "h4", "h5", "h6"})

_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_KEYWORDS = _wordset(
    "paint born died death portrait museum gallery artist work canvas oil commission master school "
    "style studio famous known court king queen baroque renaissance impression century collection exhibit"
)
_ABBREVIATIONS = _wordset("c ca st mr mrs ms dr jr sr vs no bapt fl b d approx co inc ltd mt ft etc i.e e.g")


def normalize(text: str) -> str:
    """Lower case, accents removed, punctuation turned into single spaces ("Velázquez" -> "velazquez")."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = plain.replace("_", " ").casefold()
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


def _words(text: str) -> list[str]:
    return normalize(text).split()


def artist_surname(artist: str) -> str:
    """The normalised surname: the last word of the name ("Rembrandt van Rijn" -> "rijn")."""
    words = _words(artist)
    return words[-1] if words else ""


def title_main_words(title: str) -> list[str]:
    """The words that identify a painting's title ("Portrait of Louis XIV (detail crop)" -> louis, xiv)."""
    words = [w for w in _words(title) if w not in _TITLE_STOPWORDS]
    return words or _words(title)


# -- HTML to text -------------------------------------------------------------------------------------------


class _LeadParser(HTMLParser):
    """Collects the text of the paragraphs of an article's lead section (before the first h2..h6)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.loose: list[str] = []
        """Body text outside any paragraph: used only when the article has no <p> at all."""
        self._stack: list[tuple[str, bool]] = []
        self._skip = 0
        self._in_body = False
        self._para: list[str] | None = None
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._in_body = True
        if tag in _VOID_TAGS:
            if tag == "br" and self._para is not None and not self._skip:
                self._para.append(" ")
            return
        if tag in _HEADINGS and self._in_body and (self.paragraphs or self.loose):
            self._done = True
        classes = set()
        hidden = False
        for name, value in attrs:
            if name == "class" and value:
                classes.update(value.split())
            elif name == "style" and value and "display:none" in value.replace(" ", ""):
                hidden = True
        skip = tag in _SKIP_TAGS or bool(classes & _SKIP_CLASSES) or hidden or tag in _HEADINGS
        self._stack.append((tag, skip))
        if skip:
            self._skip += 1
        if tag == "p" and not self._skip:
            self._flush()
            self._para = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID_TAGS:
            return
        # close up to the matching open tag (HTML in the wild is not always well nested)
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                for _, skipped in self._stack[i:]:
                    if skipped:
                        self._skip -= 1
                del self._stack[i:]
                break
        if tag == "p":
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip or self._done or not self._in_body:
            return
        if self._para is not None:
            self._para.append(data)
        elif data.strip():
            self.loose.append(data)

    def _flush(self) -> None:
        if self._para is not None:
            text = _clean_text("".join(self._para))
            if text and not self._done:
                self.paragraphs.append(text)
        self._para = None

    def close(self) -> None:
        super().close()
        self._flush()


def _clean_text(text: str) -> str:
    text = re.sub(r"\[(?:\d+|[a-z]|citation needed|note \d+|nb \d+)\]", "", text, flags=re.IGNORECASE)
    text = text.replace("\u00a0", " ").replace("\u200b", "")
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"\(\s*\)", "", text)
    return re.sub(r"\s+", " ", text).strip()


def html_lead_paragraphs(html: str) -> list[str]:
    """The plain-text paragraphs of the lead section of an article (scripts, tables, references skipped)."""
    parser = _LeadParser()
    if "<body" not in html.lower():
        parser._in_body = True
    parser.feed(html)
    parser.close()
    if parser.paragraphs:
        return parser.paragraphs
    loose = _clean_text(" ".join(parser.loose))
    return [loose] if loose else []


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences, keeping abbreviations ("c. 1665", "St. Louis") and initials."""
    sentences: list[str] = []
    start = 0
    for m in re.finditer(r"[.!?][\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9À-Ý])", paragraph):
        before = paragraph[start : m.start()]
        last = before.split()[-1] if before.split() else ""
        last_plain = last.strip("(\"'“‘").lower()
        if last_plain in _ABBREVIATIONS or (len(last_plain) == 1 and last_plain.isalpha()):
            continue
        sentence = paragraph[start : m.end()].strip()
        if sentence:
            sentences.append(sentence)
        start = m.end()
    tail = paragraph[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _score(sentence: str, index: int, subject_words: list[str]) -> float:
    low = sentence.lower()
    score = 0.0
    score += min(len(_YEAR.findall(sentence)), 2) * 1.5
    score += sum(1 for k in _KEYWORDS if k in low)
    # capitalised words after the first one: places, people, institutions
    capitals = sum(1 for w in sentence.split()[1:] if w[:1].isupper())
    score += min(capitals, 4) * 0.5
    norm = normalize(sentence)
    if any(w in norm.split() for w in subject_words):
        score += 1.0
    if index == 0:
        score += 2.5  # the defining first sentence of the lead
    if "may refer to" in low or "disambiguation" in low:
        score -= 10
    return score


def pick_sentences(paragraphs: list[str], max_facts: int, subject_words: list[str]) -> list[str]:
    """Keep up to ``max_facts`` informative sentences, in the article's order."""
    candidates: list[tuple[int, str]] = []
    for paragraph in paragraphs:
        for sentence in split_sentences(paragraph):
            n = len(sentence.split())
            if _MIN_WORDS <= n <= _MAX_WORDS and sentence[-1:] in ".!?\"'”’)":
                candidates.append((len(candidates), sentence))
    scored = sorted(candidates, key=lambda c: (-_score(c[1], c[0], subject_words), c[0]))
    chosen = sorted((c for c in scored[:max_facts] if _score(c[1], c[0], subject_words) > 0), key=lambda c: c[0])
    return [s for _, s in chosen]


# -- lookups -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Article:
    path: str
    title: str
    html: str
    method: str


@dataclass
class _Archive:
    name: str
    path: Path
    zim: Any  # libzim.reader.Archive (no type stubs)


class ZimResearcher:
    """The Researcher backed by offline Wikipedia archives (``.zim``), read with ``libzim``."""

    name = "libzim"
    degraded = False

    def __init__(self, zim_files: list[Path], max_facts: int = 4) -> None:
        self.max_facts = max(0, max_facts)
        self._archives = [self._open(Path(p)) for p in zim_files]
        self._cache: dict[str, ResearchNotes] = {}

    @staticmethod
    def _open(path: Path) -> _Archive:
        from libzim.reader import Archive

        if not path.is_file():
            raise ConfigError(f"{path}: ZIM file not found (research.zim_files)")
        try:
            zim = Archive(str(path))
            _ = zim.entry_count  # touch the header
        except Exception as e:  # libzim raises RuntimeError with a C++ message
            raise ConfigError(f"{path}: not a readable ZIM archive: {e}") from None
        log.debug("opened %s: %d entries, full-text index: %s", path, zim.entry_count, zim.has_fulltext_index)
        return _Archive(name=path.name, path=path, zim=zim)

    # -- the role -------------------------------------------------------------------------------------------
    def research(self, painting: Painting) -> ResearchNotes:
        cached = self._cache.get(painting.key)
        if cached is None:
            cached = self._research(painting)
            self._cache[painting.key] = cached
        return cached.model_copy(deep=True)

    def _research(self, painting: Painting) -> ResearchNotes:
        notes = ResearchNotes()
        if not self._archives:
            notes.searched.append("no ZIM files configured (research.zim_files is empty): nothing looked up")
            return notes
        artist_article = self._find(painting.artist, "artist", painting, notes.searched)
        if artist_article is not None:
            notes.artist_facts = self._facts(artist_article, _words(painting.artist))
        painting_article = self._find(painting.title, "painting", painting, notes.searched)
        if painting_article is not None and (
            artist_article is None or painting_article[1].path != artist_article[1].path
        ):
            notes.painting_facts = self._facts(painting_article, title_main_words(painting.title))
        for fact in [*notes.artist_facts, *notes.painting_facts]:
            if fact.source is not None and fact.source not in notes.sources:
                notes.sources.append(fact.source)
        return notes

    def _facts(self, found: tuple[_Archive, _Article], subject_words: list[str]) -> list[Fact]:
        archive, article = found
        source = Source(archive=archive.name, path=article.path, title=article.title)
        paragraphs = html_lead_paragraphs(article.html)
        return [Fact(text=s, source=source) for s in pick_sentences(paragraphs, self.max_facts, subject_words)]

    def _find(self, query: str, kind: str, painting: Painting, searched: list[str]) -> tuple[_Archive, _Article] | None:
        for archive in self._archives:
            prefix = f"{kind} {query!r} in {archive.name}"
            try:
                article = self._find_in(archive, query, kind, painting)
            except Exception as e:  # a damaged cluster: log it, go on with the next archive
                log.warning("%s: lookup failed: %s", prefix, e)
                searched.append(f"{prefix}: lookup failed ({e})")
                continue
            if article is None:
                how = "title suggestions" + (
                    ", full-text search" if archive.zim.has_fulltext_index else " (no full-text index)"
                )
                searched.append(f"{prefix}: no article ({how})")
                continue
            facts_hint = f"{article.title!r} ({article.path}) via {article.method}"
            searched.append(f"{prefix}: found {facts_hint}")
            return archive, article
        return None

    def _find_in(self, archive: _Archive, query: str, kind: str, painting: Painting) -> _Article | None:
        queries = [query]
        if kind == "painting":
            main = " ".join(title_main_words(query))
            if main and normalize(main) != normalize(query):
                queries.append(main)
        seen: set[str] = set()
        for method, paths in self._candidates(archive, queries):
            best: tuple[float, _Article] | None = None
            for path in paths:
                article = self._resolve(archive, path, method)
                if article is None or article.path in seen:
                    continue
                seen.add(article.path)
                score = self._match(article, query, kind, painting)
                log.debug("%s %r: candidate %r scores %s", archive.name, query, article.title, score)
                if score > 0 and (best is None or score > best[0]):
                    best = (score, article)
            if best is not None:
                return best[1]
        return None

    def _candidates(self, archive: _Archive, queries: list[str]) -> list[tuple[str, list[str]]]:
        from libzim.search import Query, Searcher
        from libzim.suggestion import SuggestionSearcher

        zim = archive.zim
        stages: list[tuple[str, list[str]]] = []
        suggested: list[str] = []
        for q in queries:
            try:
                suggested += list(SuggestionSearcher(zim).suggest(q).getResults(0, _SUGGESTIONS))
            except RuntimeError as e:
                log.debug("%s: title suggestions failed for %r: %s", archive.name, q, e)
        stages.append(("title suggestion", suggested))
        if zim.has_fulltext_index:
            hits: list[str] = []
            for q in queries:
                try:
                    hits += list(Searcher(zim).search(Query().set_query(q)).getResults(0, _FULLTEXT_HITS))
                except RuntimeError as e:
                    log.debug("%s: full-text search failed for %r: %s", archive.name, q, e)
            stages.append(("full-text search", hits))
        direct: list[str] = []
        for q in queries:
            slug = q.strip().replace(" ", "_")
            for path in (slug, f"A/{slug}"):
                if zim.has_entry_by_path(path):
                    direct.append(path)
        stages.append(("path lookup", direct))
        return stages

    @staticmethod
    def _resolve(archive: _Archive, path: str, method: str) -> _Article | None:
        zim = archive.zim
        try:
            entry = zim.get_entry_by_path(path)
            hops = 0
            while entry.is_redirect and hops < _MAX_REDIRECTS:
                entry = entry.get_redirect_entry()
                hops += 1
            if entry.is_redirect:
                return None
            item = entry.get_item()
            if not str(item.mimetype).startswith("text/html"):
                return None
            html = bytes(item.content).decode("utf-8", errors="replace")
        except (KeyError, RuntimeError) as e:
            log.debug("%s: cannot read %r: %s", archive.name, path, e)
            return None
        return _Article(path=entry.path, title=entry.title or entry.path, html=html, method=method)

    @staticmethod
    def _match(article: _Article, query: str, kind: str, painting: Painting) -> float:
        """How well an article's title matches the query; 0 means a wrong hit."""
        title = normalize(re.sub(r"\.html?$", "", article.title))
        title_words = title.split()
        # "Bacchus (Caravaggio)": the words in brackets qualify the title
        bare = normalize(re.sub(r"\(.*?\)", "", article.title)).split() or title_words
        surname = artist_surname(painting.artist)
        artist_words = set(_words(painting.artist))
        lead = " ".join(html_lead_paragraphs(article.html)[:2])
        lead_norm = f" {normalize(lead)} "
        mentions_artist = bool(surname) and f" {surname} " in lead_norm
        if kind == "artist":
            if title == normalize(query):
                return 10.0
            if surname and surname in title_words:
                return 6.0 + (1.0 if mentions_artist else 0.0) - 0.1 * len(set(title_words) - artist_words)
            significant = [w for w in bare if w not in _PARTICLES]
            if significant and set(significant) <= artist_words and mentions_artist:
                return 4.0
            return 0.0
        main = title_main_words(query)
        if normalize(" ".join(bare)) == normalize(query):
            score = 10.0
        elif main and all(w in title_words for w in main) and (len(main) > 1 or mentions_artist):
            score = 6.0 - 0.1 * len(set(bare) - set(main) - _TITLE_STOPWORDS)
        else:
            return 0.0
        if mentions_artist or surname in title_words:
            score += 2.0
        return score
