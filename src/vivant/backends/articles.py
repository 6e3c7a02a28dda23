"""Reading encyclopedia articles: the lead's plain text, what an article is about, which sentences to say.

Used by :mod:`vivant.backends.zim` (which finds the articles) and knows nothing of ZIM archives:
:func:`html_lead_paragraphs` (the lead section as plain paragraphs, with the stdlib :mod:`html.parser`),
:func:`split_sentences`, :func:`classify` (painting, person, song, album, film, place or other, from the lead's
"X is a 1930 song", life dates and infobox rows), and :func:`pick_sentences` (the sentences worth saying in a
short video, ranked by :func:`rank_sentence`, made to stand on their own and cleaned for speech).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any


def wordset(words: str) -> frozenset[str]:
    """A set of words written as one space-separated string."""
    return frozenset(words.split())


_MIN_WORDS, _MAX_WORDS = 6, 70
"""A sentence shorter or longer than this (in words) is not kept as a fact."""

_PARTICLES = wordset("van von de da di del della der den du le la les des ten ter y e of the and")
_TITLE_STOPWORDS = wordset(
    "a an the of with in on at by and or to for from de du des la le les l d un une et au aux "
    "en portrait self detail crop thumbnail px"
)
"""Words of a painting title that do not identify it ("Portrait of ...", "(detail crop)")."""

_SKIP_TAGS = wordset("script style table sup figure figcaption head title noscript math audio video nav footer ol ul")
_SKIP_CLASSES = wordset(
    "reference references reflist mw-references-wrap infobox navbox hatnote noprint metadata "
    "mw-empty-elt thumb gallery toc mw-editsection ambox shortdescription sidebar mw-ref IPA "
    "noexcerpt rt-commentedText"
)
_VOID_TAGS = wordset("area base br col embed hr img input link meta param source track wbr")
_HEADINGS = frozenset({"h2", "h3", "h4", "h5", "h6"})

_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_ABBREVIATIONS = wordset("c ca st mr mrs ms dr jr sr vs no bapt fl b d approx co inc ltd mt ft etc i.e e.g")


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
    "painting": wordset(
        "painting paintings portrait portraits canvas fresco frescoes panel artwork triptych diptych mural "
        "altarpiece miniature self-portrait pastel watercolour watercolor tableau peinture toile huile retable "
        "autoportrait"
    ),
    "song": wordset("song single hymn anthem ballad aria chanson tune"),
    "album": wordset("album ep compilation soundtrack"),
    "film": wordset("film movie documentary miniseries series sitcom"),
    "place": wordset(
        "city town village municipality country capital region province river island county state commune "
        "ville pays village"
    ),
    "person": wordset(
        "painter artist sculptor engraver draughtsman printmaker illustrator king queen emperor empress pope "
        "prince princess duke duchess count countess noblewoman nobleman aristocrat poet writer playwright "
        "novelist singer musician composer actor actress politician saint statesman merchant banker model "
        "muse wife daughter son mother father courtesan mistress footballer player scientist philosopher "
        "general soldier monarch ruler explorer peintre artiste sculpteur roi reine empereur pape poète "
        "écrivain chanteur chanteuse musicien compositeur acteur actrice homme femme"
    ),
}
_ART_JOBS = wordset(
    "painter artist sculptor engraver draughtsman printmaker illustrator miniaturist peintre artiste sculpteur "
    "graveur portraitist"
)
_CUT_WORDS = wordset(
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
        wordset("first only earliest last oldest youngest largest smallest greatest premier seul dernier"),
    ),
    (
        "a record",
        2.0,
        wordset(
            "record expensive auction sold million millions billion famous best-known masterpiece iconic celebrated "
            "most célèbre chef-d'œuvre record vendu"
        ),
    ),
    (
        "a scandal",
        2.5,
        wordset(
            "scandal scandalous controversy controversial stolen theft stole forged forgery censored banned affair "
            "mistress shocked outrage outraged vandalised vandalized attacked disputed rumour rumor secret nude "
            "rejected refused mocked scandale volé vol maîtresse"
        ),
    ),
    (
        "a loss",
        2.0,
        wordset(
            "died death lost blind blindness sight deaf poverty debt debts bankrupt bankruptcy killed murdered "
            "exile exiled prison imprisoned destroyed fire plague illness tragedy widow widowed orphan mort "
            "perdit aveugle dette ruiné"
        ),
    ),
)
_NUMBER_WORDS = wordset(
    "two three four five six seven eight nine ten eleven twelve hundred thousand dozens deux trois quatre cinq "
    "six sept huit neuf dix cent mille"
)
_CONNECTION = wordset(
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
