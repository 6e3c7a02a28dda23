"""Research from offline Wikipedia: ``.zim`` archives read with ``libzim``.

:class:`ZimResearcher` looks up, in each configured archive (grouped by the archive's ``Language``), the
artist, the painting, and the portrait's sitter ("Portrait of X", "Chandos portrait of X", "Lady Agnew of
Lochnaw" -> X), through title suggestions, the full-text index when the archive has one, and a direct path
lookup (``A/Title`` or ``Title``); titles are tried as written and shorter (:func:`title_variants`).

Every candidate is judged by what it is (:func:`~vivant.backends.articles.classify`: the head noun of the
lead's "X is a 1930 song", life dates, infobox rows) as well as by its title: the painting must not be a song,
an album, a film, a place or a person; the painter's article must be a person whose dates fit the catalog's
(death year, painting year) and who painted, or whose death year matches; a namesake is turned down with the
reason. Each choice and each rejection of a title that matched is a line of ``searched`` (``research.json``).

Facts are the lead's sentences (read by :mod:`vivant.backends.articles`) ranked by what makes a short
memorable (:func:`~vivant.backends.articles.rank_sentence`: a number, a first, a record, a scandal, a loss, a
link to the painting, the defining first sentence), made to stand on their own ("He was born" -> "Vermeer was
born") and cleaned for speech (:func:`vivant.speech.clean_for_speech`), best first, each with its
:class:`~vivant.roles.Source`, its language and why it was picked. Nothing is
invented: no article means no facts.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vivant.backends.articles import (
    _PARTICLES,
    _TITLE_STOPWORDS,
    ArticleKind,
    RankedSentence,
    _words,
    artist_surname,
    classify,
    html_lead_paragraphs,
    normalize,
    pick_sentences,
    rank_sentence,
    split_sentences,
    title_main_words,
    wordset,
)
from vivant.errors import ConfigError
from vivant.roles import Fact, Painting, ResearchNotes, Source

log = logging.getLogger(__name__)

__all__ = [
    "ArticleKind",
    "RankedSentence",
    "ZimResearcher",
    "artist_surname",
    "classify",
    "html_lead_paragraphs",
    "normalize",
    "pick_sentences",
    "portrait_subject",
    "rank_sentence",
    "split_sentences",
    "title_main_words",
    "title_variants",
]

_SUGGESTIONS = 20
"""How many title suggestions are looked at per query."""
_FULLTEXT_HITS = 10
"""How many full-text hits are looked at per query."""
_MAX_REDIRECTS = 8
_MAX_HTML = 400_000
"""Only the start of an article is parsed (the lead is at the top)."""


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
    language: str = "en"
    """Two-letter language of the archive (its ``Language`` metadata, e.g. "eng" -> "en"); "" when unknown."""


_ISO3 = {"eng": "en", "fra": "fr", "fre": "fr", "deu": "de", "ger": "de", "spa": "es", "ita": "it", "nld": "nl"}
_HONORIFICS = wordset(
    "lady lord sir madame mrs mr miss mademoiselle monsieur king queen pope saint princess prince duke duchess "
    "count countess marquise emperor empress cardinal doctor dr"
)
_PORTRAIT_OF = re.compile(r"\b(?:portrait|portret|bildnis)\s+(?:of|de|du|d')\s*(?:the\s+)?(.+)$", re.IGNORECASE)
_QUALIFIER = re.compile(r"\s+(?:in|with|at|as|en|avec|au)\s+.*$", re.IGNORECASE)


def portrait_subject(title: str) -> str | None:
    """Who a portrait shows, when its title says: "Chandos portrait of William Shakespeare" -> "William
    Shakespeare", "Lady Agnew of Lochnaw" -> itself, "Madame Cézanne in Blue" -> "Madame Cézanne"."""
    bare = " ".join(re.sub(r"\([^()]*\)", "", title).split())
    m = _PORTRAIT_OF.search(bare)
    if m:
        return _QUALIFIER.sub("", m.group(1)).strip(" ,.") or None
    first = _words(bare)[:1]
    if first and first[0] in _HONORIFICS and len(bare.split()) >= 2:
        return _QUALIFIER.sub("", bare).strip(" ,.") or None
    return None


def title_variants(title: str) -> list[str]:
    """The title as written, then shorter forms a wiki may use: without brackets or a leading article,
    without leading words ("Chandos portrait of X" -> "portrait of X"), without a trailing qualifier."""
    bare = " ".join(re.sub(r"\([^()]*\)", "", title).split()) or title.strip()
    out = [title.strip(), bare]
    words = bare.split()
    if words and words[0].lower() in ("the", "a", "an", "le", "la", "les", "l'"):
        out.append(" ".join(words[1:]))
    for k in range(1, len(words) - 1):
        rest = words[k:]
        if rest[0].lower() not in _TITLE_STOPWORDS:
            out.append(" ".join(rest))
    unqualified = _QUALIFIER.sub("", bare)
    if unqualified != bare and len(unqualified.split()) >= 2:
        out.append(unqualified)
    main = " ".join(title_main_words(bare))
    if main:
        out.append(main)
    unique: list[str] = []
    for q in out:
        if q and normalize(q) not in {normalize(u) for u in unique}:
            unique.append(q)
    return unique[:6]


@dataclass
class _Judged:
    score: float
    reason: str


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
        language = ""
        try:
            if "Language" in zim.metadata_keys:
                code = bytes(zim.get_metadata("Language")).decode("utf-8", "replace").split(",")[0].strip().lower()
                language = _ISO3.get(code, code[:2])
        except (RuntimeError, KeyError):
            language = ""
        log.debug("opened %s: %d entries, full-text index: %s", path, zim.entry_count, zim.has_fulltext_index)
        return _Archive(name=path.name, path=path, zim=zim, language=language)

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
        subject = portrait_subject(painting.title)
        for language in dict.fromkeys(a.language for a in self._archives):
            archives = [a for a in self._archives if a.language == language]
            artist_article = self._find([painting.artist], "artist", painting, archives, notes.searched)
            if artist_article is not None:
                notes.artist_facts += self._facts(artist_article, painting, "artist")
                if language and language != "en":
                    notes.artist_names[language] = _bare_title(artist_article[1].title)
            titles = [painting.title]
            if language == "fr" and painting.title_fr:
                titles.insert(0, painting.title_fr)
            queries = [v for t in titles for v in title_variants(t)]
            painting_article = self._find(queries, "painting", painting, archives, notes.searched)
            taken = {a[1].path for a in (artist_article, painting_article) if a is not None}
            if painting_article is not None and painting_article[1].path != (artist_article or (None, _NO))[1].path:
                notes.painting_facts += self._facts(painting_article, painting, "painting")
                if language:
                    notes.titles[language] = _bare_title(painting_article[1].title)
            if subject:
                subject_article = self._find([subject], "subject", painting, archives, notes.searched)
                if subject_article is not None and subject_article[1].path not in taken:
                    notes.painting_facts += self._facts(subject_article, painting, "subject")
        for fact in [*notes.artist_facts, *notes.painting_facts]:
            if fact.source is not None and fact.source not in notes.sources:
                notes.sources.append(fact.source)
        return notes

    def _facts(self, found: tuple[_Archive, _Article], painting: Painting, role: str) -> list[Fact]:
        archive, article = found
        source = Source(archive=archive.name, path=article.path, title=article.title)
        paragraphs = html_lead_paragraphs(article.html[:_MAX_HTML])
        bare = _bare_title(article.title)
        if role == "painting":
            name, possessive, subject_words = "The painting", "The painting's", title_main_words(painting.title)
            if archive.language == "fr":
                name, possessive = "Le tableau", ""
        else:
            kind = classify(article.html, paragraphs)
            surname = _short_name(bare) if kind.kind == "person" else bare
            if role == "artist" and archive.language in ("en", ""):
                surname = _short_name(painting.artist) or surname
            surname = surname[:1].upper() + surname[1:]  # "Da Vinci was born...": it starts the sentence
            name, possessive = surname, f"{surname}'s"
            if archive.language == "fr":
                possessive = ""  # "Son ..." cannot be rewritten simply in French
            subject_words = _words(painting.artist) if role == "artist" else _words(bare)
        picked = pick_sentences(
            paragraphs, self.max_facts, subject_words, painting_words=title_main_words(painting.title),
            name=name, possessive=possessive, language=archive.language or "en",
        )  # fmt: skip
        lang = archive.language or None
        return [Fact(text=r.text, source=source, language=lang, why=r.why) for r in picked]

    def _find(
        self, queries: list[str], kind: str, painting: Painting, archives: list[_Archive], searched: list[str]
    ) -> tuple[_Archive, _Article] | None:
        for archive in archives:
            prefix = f"{kind} {queries[0]!r} in {archive.name}"
            rejected: list[str] = []
            try:
                found = self._find_in(archive, queries, kind, painting, rejected)
            except Exception as e:  # a damaged cluster: log it, go on with the next archive
                log.warning("%s: lookup failed: %s", prefix, e)
                searched.append(f"{prefix}: lookup failed ({e})")
                continue
            for line in rejected:
                searched.append(f"{prefix}: rejected {line}")
            if found is None:
                how = "title suggestions" + (
                    ", full-text search" if archive.zim.has_fulltext_index else " (no full-text index)"
                )
                searched.append(f"{prefix}: no article ({how})")
                continue
            article, judged = found
            searched.append(f"{prefix}: found {article.title!r} ({article.path}) via {article.method}: {judged.reason}")
            return archive, article
        return None

    def _find_in(
        self, archive: _Archive, queries: list[str], kind: str, painting: Painting, rejected: list[str]
    ) -> tuple[_Article, _Judged] | None:
        seen: set[str] = set()
        for method, paths in self._candidates(archive, queries):
            best: tuple[float, _Article, _Judged] | None = None
            for path in paths:
                article = self._resolve(archive, path, method)
                if article is None or article.path in seen:
                    continue
                seen.add(article.path)
                judged = self._judge(article, queries, kind, painting)
                log.debug("%s %r: candidate %r: %s", archive.name, queries[0], article.title, judged)
                if judged.score <= 0:
                    if judged.reason:
                        rejected.append(f"{article.title!r} ({article.path}): {judged.reason}")
                    continue
                if best is None or judged.score > best[0]:
                    best = (judged.score, article, judged)
            if best is not None:
                return best[1], best[2]
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
        direct: list[str] = []
        for q in queries:
            slug = q.strip().replace(" ", "_")
            for path in (slug, f"A/{slug}"):
                if zim.has_entry_by_path(path):
                    direct.append(path)
        stages.append(("title suggestion", suggested))
        if zim.has_fulltext_index:
            hits: list[str] = []
            for q in queries[:3]:
                try:
                    hits += list(Searcher(zim).search(Query().set_query(q)).getResults(0, _FULLTEXT_HITS))
                except RuntimeError as e:
                    log.debug("%s: full-text search failed for %r: %s", archive.name, q, e)
            stages.append(("full-text search", hits))
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
    def _judge(article: _Article, queries: list[str], kind: str, painting: Painting) -> _Judged:
        """Whether an article is the one looked for, with the reason (a score of 0 or less is a rejection; a
        rejection without a reason is a title that does not match at all, not worth a line in the log)."""
        title = normalize(re.sub(r"\.html?$", "", article.title))
        title_words = title.split()
        bare = normalize(re.sub(r"\(.*?\)", "", article.title)).split() or title_words
        qualifier = normalize(" ".join(re.findall(r"\((.*?)\)", article.title)))
        query = queries[0]
        surname = artist_surname(painting.artist)
        artist_words = set(_words(painting.artist))
        wanted = {w for q in queries for w in _words(q)} - _TITLE_STOPWORDS - _PARTICLES
        if not set(title_words) & (wanted | artist_words):
            return _Judged(0, "")  # no word in common: not worth reading
        lead_paragraphs = html_lead_paragraphs(article.html[:_MAX_HTML])
        lead_norm = f" {normalize(' '.join(lead_paragraphs[:2]))} "
        mentions_artist = bool(surname) and (f" {surname} " in lead_norm or surname in qualifier.split())
        what = classify(article.html, lead_paragraphs)
        if kind == "artist":
            if title == normalize(query):
                score = 10.0
            elif surname and surname in title_words:
                score = 6.0 + (1.0 if mentions_artist else 0.0) - 0.1 * len(set(title_words) - artist_words)
            else:
                significant = [w for w in bare if w not in _PARTICLES]
                if not (significant and set(significant) <= artist_words and mentions_artist):
                    return _Judged(0, "")
                score = 4.0
            if what.kind in ("painting", "song", "album", "film", "place"):
                return _Judged(0, f"{what.describe()}, not the painter")
            died, year = painting.artist_died, painting.year
            if died and what.died and abs(what.died - died) > 1:
                return _Judged(0, f"a namesake: died {what.died}, the painter died {died}")
            if year and what.born and what.born > year:
                return _Judged(0, f"a namesake: born {what.born}, after the painting ({year})")
            if year and what.died and what.died < year - 1:
                return _Judged(0, f"a namesake: died {what.died}, before the painting ({year})")
            dates_match = bool(died and what.died and abs(what.died - died) <= 1)
            if what.is_artist:
                return _Judged(score + 3, f"{what.describe()}" + (", dates match" if dates_match else ""))
            if dates_match:
                return _Judged(score + 2, f"{what.describe()}, dates match")
            if what.kind == "person" and what.job:
                return _Judged(0, f"{what.describe()}, not a painter")
            return _Judged(score, f"{what.describe()}; name matches")
        if kind == "subject":
            if normalize(" ".join(bare)) == normalize(query) or title == normalize(query):
                score = 10.0
            elif all(w in title_words for w in _words(query) if w not in _PARTICLES and w not in _HONORIFICS):
                score = 6.0
            else:
                return _Judged(0, "")
            if what.kind in ("song", "album", "film", "place"):
                return _Judged(0, f"{what.describe()}, not the sitter")
            if painting.year and what.born and what.born > painting.year:
                return _Judged(0, f"born {what.born}, after the painting ({painting.year})")
            if what.kind == "person":
                return _Judged(score + 3, f"the sitter: {what.describe()}")
            return _Judged(score, f"the sitter's name: {what.describe()}")
        # the painting
        names = [normalize(q) for q in queries]
        bare_text = normalize(" ".join(bare))
        full_title = normalize(re.sub(r"\([^()]*\)", "", painting.title)) or normalize(painting.title)
        main = title_main_words(query)
        if bare_text in names:
            exact = bare_text in (normalize(query), full_title)
            score = 10.0 if exact else 7.0
        elif main and all(w in title_words for w in main) and (len(main) > 1 or mentions_artist):
            score = 6.0 - 0.1 * len(set(bare) - set(main) - _TITLE_STOPWORDS)
        elif (
            what.kind == "painting"
            and mentions_artist
            and [w for w in bare if w not in _TITLE_STOPWORDS]
            and set(bare) <= set(_words(query))
        ):
            score = 5.0  # "Chandos portrait" for "Chandos portrait of William Shakespeare"
        else:
            return _Judged(0, "")
        if what.kind in ("song", "album", "film", "place", "person"):
            return _Judged(0, f"{what.describe()}, not a painting")
        if what.kind == "painting":
            score += 4
        elif not mentions_artist and bare_text != full_title:
            return _Judged(0, f"{what.describe()}, and it does not name {painting.artist}")
        if mentions_artist or surname in title_words:
            score += 2.0
        elif what.kind == "painting" and surname and painting.artist.strip().lower() != "unknown":
            score -= 3.0  # a painting of the same name by someone else
        reason = what.describe() + (f", names {painting.artist}" if mentions_artist else "")
        return _Judged(score, reason)


_NO = _Article(path="", title="", html="", method="")


def _short_name(name: str) -> str:
    """How a sentence calls a person: the last word with its particle ("da Vinci", "van Rijn", "Vermeer")."""
    words = name.split()
    if len(words) >= 2 and words[-2].lower() in _PARTICLES:
        return " ".join(words[-2:])
    return words[-1] if words else name


def _bare_title(title: str) -> str:
    """An article's title without its qualifier: "Bacchus (Caravaggio)" -> "Bacchus"."""
    text = re.sub(r"\.html?$", "", title)
    return " ".join(re.sub(r"\s*\([^()]*\)", "", text).replace("_", " ").split()) or text
