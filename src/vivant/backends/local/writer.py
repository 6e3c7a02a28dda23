"""A template writer: the portrait's first-person script without a language model.

:class:`TemplateWriter` fills hand-written French and English templates with the painting's metadata (title,
artist, year, the artist's death year, genre, style) and, when research found some, with the facts of the
notes, lightly rephrased ("My painter, Johannes Vermeer, was born in Delft."). It never invents a fact: every
statement about the painting or the painter comes from the metadata or the notes; the rest is banter. French
scripts use only facts written in French (English facts are not machine-translated), so they may say less.

The variant of each part (hook, banter, closing line) is picked from a hash of the painting's key, so the same
painting always gets the same script and different paintings sound different. The text is meant for a TTS
voice: no emojis, no markdown, no hashtags, no brackets. It is kept between about 60 and 130 words and always
validates as a :class:`~vivant.roles.Script` (150 words at most).
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from vivant.roles import MAX_SCRIPT_WORDS, Fact, Language, Painting, ResearchNotes, Script, Source

log = logging.getLogger(__name__)


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


TARGET_MAX_WORDS = 130
"""Facts and banter are added while the script stays within this many words (the hard limit is 150)."""
TARGET_MIN_WORDS = 70
"""Banter is added until the script has about this many words."""
MAX_BODY_SENTENCES = 5
"""Sentences between the hook and the closing line (the introduction included)."""
MAX_FACT_WORDS = 45
"""A fact longer than this (once made speakable) is left out rather than cut."""

_PARTICLES = _wordset("van von de da di del della der den du le la ten ter")


# -- text helpers ------------------------------------------------------------------------------------------


def _ascii_slug(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "", plain)


def _norm(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", plain.replace("_", " ")).split())


def _word_count(text: str) -> int:
    return len(text.split())


def _drop_brackets(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"\s*\([^()]*\)", "", text)
        text = re.sub(r"\s*\[[^\[\]]*\]", "", text)
    return text.replace("(", "").replace(")", "").replace("[", "").replace("]", "")


def speakable(text: str) -> str:
    """Make a sentence fit for a TTS voice: no brackets, symbols, emojis or markdown."""
    text = _drop_brackets(text)
    text = re.sub(r"\b(?:c|ca|circa)\.\s*(?=\d)", "around ", text)
    text = re.sub(r"(\d)\s*[–—-]\s*(\d)", r"\1 to \2", text)
    text = re.sub(r"\s*[–—]\s*", ", ", text)
    text = text.replace("_", " ").replace("’", "'")
    # keep letters (any script), digits, spaces and plain punctuation; drop the rest (emojis, #, *, /, ...)
    text = "".join(ch if (ch.isalnum() or ch.isspace() or ch in ".,;:!?'\"«»-") else " " for ch in text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?=[^\s\d])", r"\1 ", text)
    text = re.sub(r",\s*,+", ",", text)
    text = text.strip(" ,;:-")
    if text and text[-1] not in ".!?":
        text += "."
    return text


def spoken_title(title: str) -> str:
    """The title as said aloud, without bracketed remarks ("Mona Lisa (92x92 px thumbnail)": "Mona Lisa")."""
    cleaned = speakable(title).rstrip(".!?").strip()
    return cleaned or title.strip()


def _de(name: str) -> str:
    """French "de X" with elision before a vowel ("d'Edgar Degas")."""
    return ("d'" if name[:1].lower() in "aeiouyàâéèêëîïôöûü" else "de ") + name


_FR_WORDS = _wordset(
    "le la les des est une du et il elle qui dans sur pour par au aux était fut son sa ses né née ce cette"
)
_EN_WORDS = _wordset("the is was and of in he she who a an his her by with for at on from were as")


def looks_french(text: str) -> bool:
    words = re.findall(r"[a-zà-ÿ']+", text.lower())
    fr = sum(1 for w in words if w in _FR_WORDS or w.startswith(("l'", "d'", "qu'")))
    en = sum(1 for w in words if w in _EN_WORDS)
    return fr > en


def _digest(key: str, salt: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{salt}|{key}".encode()).digest()[:8], "big")


def _pick(options: Sequence[str], key: str, salt: str) -> str:
    return options[_digest(key, salt) % len(options)]


def _rotated(options: Sequence[str], key: str, salt: str) -> list[str]:
    k = _digest(key, salt) % len(options)
    return [*options[k:], *options[:k]]


# -- templates ---------------------------------------------------------------------------------------------

_HOOKS: dict[Language, tuple[str, ...]] = {
    "en": (
        "Stop scrolling. Yes, you. I have been waiting a very long time to say this.",
        "Psst. Over here, inside the frame. Do you have a minute?",
        "You look at me, I look at you. Awkward, right? Let me break the ice.",
        "Finally, someone who stops long enough to listen to me.",
        "Hold on, do not swipe yet. I have a confession to make.",
    ),
    "fr": (
        "Arrête de scroller. Oui, toi. J'attends ce moment depuis très longtemps.",
        "Psst. Par ici, dans le cadre. Tu as une minute ?",
        "Tu me regardes, je te regarde. Un peu gênant, non ? Je brise la glace.",
        "Enfin quelqu'un qui s'arrête assez longtemps pour m'écouter.",
        "Attends, ne swipe pas tout de suite. J'ai une confidence à te faire.",
    ),
}

_CLOSINGS: dict[Language, tuple[str, ...]] = {
    "en": (
        "Follow for more confessions from inside the frame, and tell me in the comments what you think I am hiding.",
        "If you liked my little secret, follow for more talking paintings, and tell me in the comments who "
        "should speak next.",
        "Now it is your turn: comment below what you see in me, and follow so you do not miss the next portrait.",
        "Follow for more painted gossip. And yes, I saw that you nearly scrolled past me.",
    ),
    "fr": (
        "Abonne-toi pour d'autres confidences du cadre, et dis-moi en commentaire ce que je cache, à ton avis.",
        "Si mon petit secret t'a plu, abonne-toi pour d'autres tableaux qui parlent, et dis-moi en "
        "commentaire qui doit parler ensuite.",
        "À toi maintenant : écris en commentaire ce que tu vois en moi, et abonne-toi pour ne pas rater le "
        "prochain portrait.",
        "Abonne-toi pour plus de potins peints. Et oui, j'ai vu que tu as failli passer à côté de moi.",
    ),
}

_BANTER: dict[Language, tuple[str, ...]] = {
    "en": (
        "Everyone stares at me, and nobody ever asks how my day is going.",
        "I have been holding this exact expression for longer than you have been holding your phone, so "
        "show some respect.",
        "Look closely: every brushstroke you see was put there by hand, one tiny decision at a time.",
        "People walk past me, squint, take a picture and leave. Rude.",
        "I never blink, I never sleep, and I never get tired of judging your outfit.",
    ),
    "fr": (
        "Tout le monde me fixe, et personne ne me demande jamais comment je vais.",
        "Je garde cette expression depuis plus longtemps que tu ne gardes ton téléphone en main, "
        "alors un peu de respect.",
        "Regarde bien : chaque coup de pinceau a été posé à la main, une petite décision après l'autre.",
        "Les gens passent, plissent les yeux, prennent une photo et repartent. Quelle politesse.",
        "Je ne cligne jamais des yeux, je ne dors jamais, et je ne me lasse jamais de juger ta tenue.",
    ),
}

_TITLES: dict[Language, tuple[str, ...]] = {
    "en": (
        "{title}, by {artist}, speaks up",
        "{title} has something to tell you",
        "{title} breaks the silence",
    ),
    "fr": ("{title}, {de_artist}, prend la parole", "{title} a quelque chose à te dire", "{title} se confie"),
}

_FACT_LEADS: dict[Language, tuple[str, ...]] = {
    "en": ("A little archive gossip: ", "The library whispers this: ", "Here is what the books say: "),
    "fr": ("Petit potin d'archive : ", "Les livres racontent ceci : ", "Voici ce que disent les archives : "),
}

_VERBS_EN = _wordset(
    "was is were had has became painted lived worked spent died trained moved remained "
    "created produced studied joined married left returned"
)
_VERBS_FR = _wordset("est était fut a avait naît meurt peint devient devint vécut vit travailla")
_PRONOUNS = frozenset({"he", "she", "they", "il", "elle"})
_IT_SUBJECTS = frozenset(
    {
        "it",
        "the painting",
        "this painting",
        "the portrait",
        "this portrait",
        "the work",
        "ce tableau",
        "le tableau",
        "ce portrait",
        "le portrait",
        "l'oeuvre",
        "l'œuvre",
        "cette oeuvre",
        "cette œuvre",
    }
)


def _split_subject(sentence: str, verbs: frozenset[str]) -> tuple[str, str, str] | None:
    """Split "Johannes Vermeer was a Dutch painter." into ("Johannes Vermeer", "was", "a Dutch painter.")."""
    words = sentence.split()
    for i, word in enumerate(words[:9]):
        if word.lower() in verbs and i > 0:
            return " ".join(words[:i]).rstrip(","), word.lower(), " ".join(words[i + 1 :])
    return None


@dataclass(frozen=True)
class _Line:
    text: str
    source: Source | None = None

    @property
    def words(self) -> int:
        return _word_count(self.text)


class TemplateWriter:
    """The Writer that fills templates (no LLM): cheeky, first person, facts only from metadata and notes."""

    name = "local:template"
    degraded = True

    def write(self, painting: Painting, notes: ResearchNotes, language: Language) -> Script:
        title = spoken_title(painting.title)
        artist = " ".join(painting.artist.split())
        key = painting.key or f"{painting.id}:{painting.title}"
        hook = _pick(_HOOKS[language], key, "hook")
        closing = _pick(_CLOSINGS[language], key, "closing")
        intro = self._intro(painting, title, artist, language)
        facts = self._fact_lines(painting, notes, title, artist, language)
        extras = self._extra_lines(painting, artist, language, key)

        body: list[_Line] = [_Line(intro)]
        total = _word_count(hook) + _word_count(intro) + _word_count(closing)
        for line in facts:
            if len(body) >= MAX_BODY_SENTENCES - 1:
                break
            if total + line.words <= TARGET_MAX_WORDS:
                body.append(line)
                total += line.words
        for line in extras:
            if len(body) >= MAX_BODY_SENTENCES or total >= TARGET_MIN_WORDS:
                break
            if total + line.words <= TARGET_MAX_WORDS:
                body.append(line)
                total += line.words

        text = " ".join([hook, *(line.text for line in body), closing])
        if _word_count(text) > MAX_SCRIPT_WORDS:  # only with absurdly long titles or names
            text = self._minimal(title, artist, language)
        sources: list[Source] = []
        for line in body:
            if line.source is not None and line.source not in sources:
                sources.append(line.source)
        script = Script(
            language=language,
            title=self._title(title, artist, language, key),
            hook=hook,
            script=text,
            hashtags=self._hashtags(painting, language),
            sources=sources,
            artist=artist or painting.artist,
        )
        log.debug("template script for %s (%s): %d words", painting.key, language, _word_count(text))
        return script

    # -- parts ----------------------------------------------------------------------------------------------
    @staticmethod
    def _intro(painting: Painting, title: str, artist: str, language: Language) -> str:
        if language == "fr":
            when = f", daté de {painting.year}" if painting.year else ""
            return f"On m'appelle {title}. Je suis un tableau {_de(artist)}{when}."
        if painting.year:
            return f"They call me {title}. {artist} painted me in {painting.year}, and I have been posing ever since."
        return f"They call me {title}, and {artist} is the one who painted me."

    @staticmethod
    def _extra_lines(painting: Painting, artist: str, language: Language, key: str) -> list[_Line]:
        lines: list[str] = []
        fr = language == "fr"
        if painting.artist_died:
            died = painting.artist_died
            options = (
                (
                    f"{artist} nous a quittés en {died}, et moi, je suis toujours là, à faire tout le travail.",
                    f"Mon artiste, {artist}, a tiré sa révérence en {died}. "
                    "Moi, je suis toujours là pour faire la conversation.",
                )
                if fr
                else (
                    f"My painter, {artist}, died in {died}, and yet here I am, still doing all the work.",
                    f"{artist} left this world in {died}. I stayed behind to do the talking.",
                )
            )
            lines.append(_pick(options, key, "died"))
        if painting.genre and painting.genre.strip().lower() == "portrait":
            lines.append(
                "Officiellement, je suis un portrait. Officieusement, je suis le personnage principal."
                if fr
                else "Officially, I am a portrait. Unofficially, I am the main character."
            )
        elif painting.genre and not fr:
            genre = " ".join(painting.genre.replace("_", " ").replace("-", " ").split()).lower()
            article = "an" if genre[:1] in "aeiou" else "a"
            lines.append(f"Officially, I am {article} {genre}. Unofficially, I am the main character.")
        if painting.style:
            style = " ".join(painting.style.replace("_", " ").split())
            lines.append(
                f"Les historiens de l'art me rangent dans la case {style}. Moi, je dirais que j'ai de la ressource."
                if fr
                else f"Art historians file me under {style}. I prefer to say I have range."
            )
        lines += _rotated(_BANTER[language], key, "banter")
        return [_Line(speakable(line)) for line in lines]

    def _fact_lines(
        self, painting: Painting, notes: ResearchNotes, title: str, artist: str, language: Language
    ) -> list[_Line]:
        key = painting.key
        usable = [f for f in (*notes.painting_facts, *notes.artist_facts) if looks_french(f.text) == (language == "fr")]
        painting_facts = [f for f in notes.painting_facts if f in usable]
        artist_facts = self._about_artist([f for f in notes.artist_facts if f in usable], artist)
        lines: list[_Line] = []
        lead = _pick(_FACT_LEADS[language], key, "lead")
        for fact in painting_facts[:2]:
            text = self._painting_fact(fact, title, language, lead)
            if text:
                lines.append(_Line(text, fact.source))
                if not text.startswith(("I ", "J'", "Je ")):
                    lead = ""  # one "the archive says" is enough
        for i, fact in enumerate(artist_facts[:2]):
            text = self._artist_fact(fact, artist, language, first=(i == 0))
            if text:
                lines.append(_Line(text, fact.source))
        return lines

    @staticmethod
    def _about_artist(facts: list[Fact], artist: str) -> list[Fact]:
        """The artist facts that are visibly about this artist: a research hit on a namesake is left out.

        A fact must name the artist (a word of the name other than "van", "de", ...); a fact that starts with
        a pronoun is kept when it follows a kept fact of the same source.
        """
        names = {w for w in _norm(artist).split() if w not in _PARTICLES}
        kept: list[Fact] = []
        for fact in facts:
            words = _norm(fact.text).split()
            if names & set(words) or (kept and words[:1] and words[0] in _PRONOUNS and kept[-1].source == fact.source):
                kept.append(fact)
        return kept

    @staticmethod
    def _painting_fact(fact: Fact, title: str, language: Language, lead: str) -> str | None:
        sentence = speakable(fact.text)
        if not sentence or _word_count(sentence) > MAX_FACT_WORDS:
            return None
        verbs = _VERBS_FR if language == "fr" else _VERBS_EN
        split = _split_subject(sentence, verbs)
        if split is not None:
            subject, verb, rest = split
            subject_norm = _norm(subject)
            is_me = subject_norm in {_norm(title), _norm(f"the {title}")} or subject.lower() in _IT_SUBJECTS
            if is_me:
                if language == "en" and verb in {"is", "was", "has"}:
                    return f"I {({'is': 'am', 'was': 'was', 'has': 'have'})[verb]} {rest}"
                if language == "fr" and verb in {"est", "était", "a"}:
                    return {"est": "Je suis ", "était": "J'étais ", "a": "J'ai "}[verb] + rest
        return lead + sentence

    @staticmethod
    def _artist_fact(fact: Fact, artist: str, language: Language, *, first: bool) -> str | None:
        sentence = speakable(fact.text)
        if not sentence or _word_count(sentence) > MAX_FACT_WORDS:
            return None
        if not first:
            return sentence
        verbs = _VERBS_FR if language == "fr" else _VERBS_EN
        artist_words = {w for w in _norm(artist).split() if w not in _PARTICLES}
        split = _split_subject(sentence, verbs)
        if split is not None:
            subject, verb, rest = split
            subject_words = _norm(subject).split()
            about_artist = (
                len(subject_words) <= 6 and bool(subject_words) and subject_words[0] in artist_words
            ) or subject.lower() in _PRONOUNS
            if about_artist:
                if language == "fr":
                    return f"Mon artiste, {artist}, {verb} {rest}"
                return f"My painter, {artist}, {verb} {rest}"
        if language == "fr":
            return f"À propos de mon artiste, {artist} : {sentence}"
        return f"About my painter, {artist}: {sentence}"

    @staticmethod
    def _minimal(title: str, artist: str, language: Language) -> str:
        short = " ".join(title.split()[:12])
        if language == "fr":
            return f"On m'appelle {short}, un tableau {_de(artist)}. Abonne-toi pour d'autres tableaux."
        return f"They call me {short}, and {artist} painted me. Follow for more talking paintings."

    @staticmethod
    def _title(title: str, artist: str, language: Language, key: str) -> str:
        pattern = _pick(_TITLES[language], key, "title")
        text = pattern.format(title=title, artist=artist, de_artist=_de(artist))
        if len(text) > 100:
            text = pattern.format(title="", artist=artist, de_artist=_de(artist)).strip(" ,")
            room = 100 - len(text) - 2
            short = title if len(title) <= room else title[: max(1, room - 3)].rstrip() + "..."
            text = pattern.format(title=short, artist=artist, de_artist=_de(artist))
        return text[:100]

    @staticmethod
    def _hashtags(painting: Painting, language: Language) -> list[str]:
        words = painting.artist.split()
        surname_words = words[-1:]
        if len(words) >= 2 and words[-2].lower() in _PARTICLES:
            surname_words = words[-2:]
        tags = ["#art", "#portrait"]
        surname = _ascii_slug("".join(surname_words))
        if surname:
            tags.append(f"#{surname}")
        tags += ["#histoiredelart", "#peinture"] if language == "fr" else ["#arthistory", "#painting"]
        if painting.style:
            style = _ascii_slug(painting.style)
            if style:
                tags.append(f"#{style}")
        unique: list[str] = []
        for tag in tags:
            if tag not in unique and len(tag) > 1:
                unique.append(tag)
        return unique[:6]
