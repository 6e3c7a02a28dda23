"""Research from offline Wikipedia: ``.zim`` archives read with ``libzim``.

:class:`ZimResearcher` looks up, in each configured archive (grouped by the archive's ``Language``), the
artist, the painting, and the portrait's sitter ("Portrait of X", "Chandos portrait of X", "Lady Agnew of
Lochnaw" -> X), through title suggestions, the full-text index when the archive has one, and a direct path
lookup (``A/Title`` or ``Title``); titles are tried as written and shorter (:func:`title_variants`).

Every candidate is judged by what it is (:func:`classify`: the head noun of the lead's "X is a 1930 song",
life dates, infobox rows) as well as by its title: the painting must not be a song, an album, a film, a place
or a person; the painter's article must be a person whose dates fit the catalog's (death year, painting year)
and who painted, or whose death year matches; a namesake is turned down with the reason. Each choice and each
rejection of a title that matched is a line of ``searched`` (``research.json``).

Facts are the lead's sentences ranked by what makes a short memorable (:func:`rank_sentence`: a number, a
first, a record, a scandal, a loss, a link to the painting, the defining first sentence), made to stand on
their own ("He was born" -> "Vermeer was born") and cleaned for speech (:func:`vivant.speech.clean_for_speech`),
best first, each with its :class:`~vivant.roles.Source`, its language and why it was picked. Nothing is
invented: no article means no facts.
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
_MAX_HTML = 400_000
"""Only the start of an article is parsed (the lead is at the top)."""
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


# -- what an article is about ---------------------------------------------------------------------------------

Kind = str
"""One of ``painting``, ``person``, ``song``, ``album``, ``film``, ``place``, ``other``."""

_HEAD_NOUNS: dict[str, frozenset[str]] = {
    "painting": _wordset(
        "painting paintings portrait portraits canvas fresco frescoes panel artwork triptych diptych mural "
        "altarpiece miniature self-portrait pastel watercolour watercolor tableau peinture toile huile retable "
        "autoportrait"
    ),
    "song": _wordset("song single hymn anthem ballad aria chanson tune"),
    "album": _wordset("album ep compilation soundtrack"),
    "film": _wordset("film movie documentary miniseries series sitcom"),
    "place": _wordset(
        "city town village municipality country capital region province river island county state commune "
        "ville pays village"
    ),
    "person": _wordset(
        "painter artist sculptor engraver draughtsman printmaker illustrator king queen emperor empress pope "
        "prince princess duke duchess count countess noblewoman nobleman aristocrat poet writer playwright "
        "novelist singer musician composer actor actress politician saint statesman merchant banker model "
        "muse wife daughter son mother father courtesan mistress footballer player scientist philosopher "
        "general soldier monarch ruler explorer peintre artiste sculpteur roi reine empereur pape poète "
        "écrivain chanteur chanteuse musicien compositeur acteur actrice homme femme"
    ),
}
_ART_JOBS = _wordset(
    "painter artist sculptor engraver draughtsman printmaker illustrator miniaturist peintre artiste sculpteur "
    "graveur portraitist"
)
_CUT_WORDS = _wordset(
    "by of from that which who whose written painted recorded released directed produced composed in on at for "
    "with and or par de du des qui dont en avec pour sur et ou"
)
_INFOBOX_KINDS: tuple[tuple[str, str], ...] = (
    (r"\b(?:Medium|Dimensions|Technique)\b", "painting"),
    (r"\bDirected by\b", "film"),
    (r"\b(?:Recorded|Label|Length|Released)\b.*\b(?:Genre|Producer|Songwriter)", "song"),
    (r"\b(?:Born|Died|Naissance|Décès)\b", "person"),
)
_LIFE = re.compile(
    r"\((?:[^()]*?\b(?:born|baptized|baptised|né|née|c\.|ca\.)\s*)?[^()]*?\b(1[0-9]{3}|20[0-9]{2})\b[^()]*?"
    r"(?:[–—-]|\bto\b|\bau\b)[^()]*?\b(1[0-9]{3}|20[0-9]{2})\b[^()]*\)"
)
_BORN = re.compile(r"\((?:born|né|née)\b[^()]*?\b(1[0-9]{3}|20[0-9]{2})\b[^()]*\)")
_COPULA = re.compile(
    r"\b(?:is|was|are|were|est|était|fut)\s+(?:(?:an?|the|one of the|un|une|le|la|l')\s+)?(.{0,120})", re.IGNORECASE
)


@dataclass(frozen=True)
class ArticleKind:
    """What an article is about, and the words that say so."""

    kind: Kind
    evidence: str
    job: str = ""
    born: int | None = None
    died: int | None = None

    @property
    def is_artist(self) -> bool:
        return self.job in _ART_JOBS

    def describe(self) -> str:
        what = {"other": "not a painting, person, song, album, film or place"}.get(self.kind, f"a {self.kind}")
        if self.kind == "person" and self.job:
            what = f"a person ({self.job})"
        life = ""
        if self.born or self.died:
            life = f", {self.born or '?'}-{self.died or '?'}"
        return f"{what}{life}: {self.evidence!r}" if self.evidence else what


def classify(html: str, lead: list[str] | None = None) -> ArticleKind:
    """What an article is about, read from its lead's first sentence ("X is a 1930 song...": the head noun of
    the phrase after "is a"), its life dates, and the row names of its infobox ("Medium", "Directed by")."""
    paragraphs = lead if lead is not None else html_lead_paragraphs(html)
    first = split_sentences(paragraphs[0])[0] if paragraphs and split_sentences(paragraphs[0]) else ""
    life = _LIFE.search(first)
    born = int(life.group(1)) if life else None
    died = int(life.group(2)) if life else None
    if life is None and (b := _BORN.search(first)):
        born = int(b.group(1))
    m = _COPULA.search(re.sub(r"\([^()]*\)", "", first))
    if m:
        words: list[str] = []
        for w in _words(m.group(1)):
            if w in _CUT_WORDS and words:
                break
            words.append(w)
            if len(words) >= 8:
                break
        for w in reversed(words):
            for kind, nouns in _HEAD_NOUNS.items():
                if w in nouns:
                    job = w if kind == "person" else ""
                    phrase = f"{m.group(0)[: m.start(1) - m.start(0)].strip()} {' '.join(words)}"
                    return ArticleKind(kind, phrase, job, born, died)
    if born or died:
        return ArticleKind("person", life.group(0) if life else "born", "", born, died)
    box = _infobox_text(html)
    for pattern, kind in _INFOBOX_KINDS:
        if box and re.search(pattern, box, re.DOTALL):
            return ArticleKind(kind, f"infobox: {re.search(pattern, box, re.DOTALL).group(0)[:40]}")  # type: ignore[union-attr]
    return ArticleKind("other", first[:60])


def _infobox_text(html: str) -> str:
    m = re.search(r"<table[^>]*class=\"[^\"]*infobox[^\"]*\"[^>]*>(.*?)</table>", html[:60_000], re.DOTALL | re.I)
    if not m:
        return ""
    return re.sub(r"<[^>]+>", " ", m.group(1))


# -- facts worth saying --------------------------------------------------------------------------------------

_MEMORABLE: tuple[tuple[str, float, frozenset[str]], ...] = (
    (
        "a first",
        2.0,
        _wordset("first only earliest last oldest youngest largest smallest greatest premier seul dernier"),
    ),
    (
        "a record",
        2.0,
        _wordset(
            "record expensive auction sold million millions billion famous best-known masterpiece iconic celebrated "
            "most célèbre chef-d'œuvre record vendu"
        ),
    ),
    (
        "a scandal",
        2.5,
        _wordset(
            "scandal scandalous controversy controversial stolen theft stole forged forgery censored banned affair "
            "mistress shocked outrage outraged vandalised vandalized attacked disputed rumour rumor secret nude "
            "rejected refused mocked scandale volé vol maîtresse"
        ),
    ),
    (
        "a loss",
        2.0,
        _wordset(
            "died death lost blind blindness sight deaf poverty debt debts bankrupt bankruptcy killed murdered "
            "exile exiled prison imprisoned destroyed fire plague illness tragedy widow widowed orphan mort "
            "perdit aveugle dette ruiné"
        ),
    ),
)
_NUMBER_WORDS = _wordset(
    "two three four five six seven eight nine ten eleven twelve hundred thousand dozens deux trois quatre cinq "
    "six sept huit neuf dix cent mille"
)
_CONNECTION = _wordset(
    "portrait painted painting sitter posed model commissioned canvas brush peint tableau portrait modèle"
)
_PRONOUN_START = re.compile(r"^(He|She|It|They|Il|Elle)\b\s")
_POSSESSIVE_START = re.compile(r"^(His|Her|Its)\b\s")


def rank_sentence(sentence: str, index: int, subject_words: list[str], painting_words: list[str]) -> tuple[float, str]:
    """A sentence's worth in a short video, and why: a number, a first, a record, a scandal, a loss, a link to
    the painting; the article's defining first sentence gets a bonus; "may refer to" pages sink."""
    low_words = set(normalize(sentence).split())
    score = 0.0
    why: list[str] = []
    if _YEAR.search(sentence) or re.search(r"\d", sentence) or low_words & _NUMBER_WORDS:
        score += 1.5
        why.append("a number")
    for label, weight, words in _MEMORABLE:
        if low_words & words:
            score += weight
            why.append(label)
    if low_words & _CONNECTION or (painting_words and set(painting_words) <= low_words):
        score += 2.0
        why.append("the painting")
    if subject_words and low_words & set(subject_words):
        score += 0.5
    if index == 0:
        score += 2.5
        why.append("defines the subject")
    if "may refer to" in sentence.lower() or "disambiguation" in sentence.lower():
        score -= 20
    score -= max(0, sentence.count(",") - 3) * 0.5  # lists of names read badly
    return score, ", ".join(why)


def _resolve_pronoun(sentence: str, name: str, possessive: str) -> str:
    """ "He was born in Delft" -> "Vermeer was born in Delft": a fact must make sense on its own."""
    if not name:
        return sentence
    sentence = _PRONOUN_START.sub(lambda _m: f"{name} ", sentence, count=1)
    if not possessive:
        return sentence
    return _POSSESSIVE_START.sub(lambda _m: f"{possessive} ", sentence, count=1)


@dataclass(frozen=True)
class RankedSentence:
    text: str
    score: float
    why: str


def pick_sentences(
    paragraphs: list[str],
    max_facts: int,
    subject_words: list[str],
    *,
    painting_words: list[str] | None = None,
    name: str = "",
    possessive: str = "",
    language: str = "en",
) -> list[RankedSentence]:
    """Up to ``max_facts`` sentences of the lead, best first, each standing on its own and cleaned for speech."""
    from vivant.speech import clean_for_speech

    lang: Any = "fr" if language == "fr" else "en"
    ranked: list[tuple[float, int, RankedSentence]] = []
    index = 0
    for paragraph in paragraphs:
        for sentence in split_sentences(paragraph):
            n = len(sentence.split())
            if not (_MIN_WORDS <= n <= _MAX_WORDS and sentence[-1:] in ".!?\"'”’)"):
                continue
            score, why = rank_sentence(sentence, index, subject_words, painting_words or [])
            text = clean_for_speech(_resolve_pronoun(sentence, name, possessive), lang)
            ranked.append((score, index, RankedSentence(text, score, why)))
            index += 1
    ranked.sort(key=lambda r: (-r[0], r[1]))
    return [r[2] for r in ranked[:max_facts] if r[0] > 0]


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
_HONORIFICS = _wordset(
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
