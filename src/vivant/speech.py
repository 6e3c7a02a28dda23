"""Text fit to be spoken: symbols, abbreviations and approximate dates said as words, French typography.

:func:`clean_for_speech` is used on researched facts (so ``research.json`` already holds speakable sentences)
and again by the writers on whatever they assemble. It is idempotent: cleaning clean text changes nothing.
:func:`french_typography` puts the no-break space French wants before ``: ; ! ?`` and inside « ».
"""

from __future__ import annotations

import re

from vivant.languages import Language

SpeechLanguage = Language

NBSP = "\u00a0"
"""Espace insécable: before ':' ';' '!' '?' and inside guillemets in French."""

_WORDS: dict[SpeechLanguage, dict[str, str]] = {
    "en": {
        "and": "and",
        "percent": "percent",
        "degrees": "degrees",
        "around": "around",
        "to": "to",
        "plus": "plus",
        "number": "number",
        "active": "active",
    },
    "fr": {
        "and": "et",
        "percent": "pour cent",
        "degrees": "degrés",
        "around": "vers",
        "to": "à",
        "plus": "plus",
        "number": "numéro",
        "active": "actif vers",
    },
}

_ABBREVIATIONS: dict[SpeechLanguage, tuple[tuple[str, str], ...]] = {
    "en": (
        (r"\be\.g\.", "for example"),
        (r"\bi\.e\.", "that is"),
        (r"\betc\.", "and so on"),
        (r"\bvs\.?(?=\s)", "versus"),
        (r"\bapprox\.", "about"),
        (r"\bSt\.?(?= [A-Z])", "Saint"),
        (r"\bMt\.?(?= [A-Z])", "Mount"),
        (r"\bDr\.?(?= [A-Z])", "Doctor"),
        (r"\bMr\.?(?= [A-Z])", "Mister"),
        (r"\bMrs\.?(?= [A-Z])", "Missus"),
        (r"\bJr\.", "Junior"),
        (r"\bSr\.", "Senior"),
        (r"\bft\.(?= )", "feet"),
        (r"\bkm\b", "kilometres"),
        (r"\bcm\b", "centimetres"),
    ),
    "fr": (
        (r"\bp\. ?ex\.", "par exemple"),
        (r"\betc\.", "et cetera"),
        (r"\benv\.", "environ"),
        (r"\bav\. J\.-C\.", "avant Jésus-Christ"),
        (r"\bapr\. J\.-C\.", "après Jésus-Christ"),
        (r"\bSt(?:e)?\.?(?= [A-Z])", "Saint"),
        (r"\bMme\.?(?= [A-Z])", "Madame"),
        (r"\bMlle\.?(?= [A-Z])", "Mademoiselle"),
        (r"\bM\.(?= [A-Z])", "Monsieur"),
        (r"\bkm\b", "kilomètres"),
        (r"\bcm\b", "centimètres"),
    ),
}

_CURRENCIES: dict[str, tuple[str, str]] = {
    "$": ("dollars", "dollars"),
    "£": ("pounds", "livres"),
    "€": ("euros", "euros"),
}


def clean_for_speech(text: str, language: SpeechLanguage = "en") -> str:
    """Say symbols and abbreviations as words: "R&B" -> "R and B", "c. 1866" -> "around 1866", "50%" ->
    "50 percent", "30°C" -> "30 degrees Celsius", "St. Louis" -> "Saint Louis", "$5 million" -> "5 million
    dollars". Brackets and their content are kept (the writers decide about them)."""
    words = _WORDS[language]
    t = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u00a0", " ").replace("\u202f", " ")
    # approximate dates: "c. 1866", "c.1866", "ca. 1866", "circa 1866", "(c. 1866)"
    approx = r"\b(?:c\.|ca\.|circa\b|v\.|vers\b)" if language == "fr" else r"\b(?:c\.|ca\.|circa\b)"
    t = re.sub(approx + r"\s*(?=\d{3,4}\b)", words["around"] + " ", t, flags=re.IGNORECASE)
    t = re.sub(r"\bfl\.\s*(?=\d)", words["active"] + " ", t)
    # ranges of years or numbers: "1632–1675" -> "1632 to 1675"
    t = re.sub(r"(\d)\s*[–—-]\s*(\d)", rf"\1 {words['to']} \2", t)
    # currencies before a number: "$5 million" -> "5 million dollars"
    for sym, names in _CURRENCIES.items():
        name = names[0] if language == "en" else names[1]
        t = re.sub(
            rf"{re.escape(sym)}\s*(\d+(?:[,.]\d+)*(?:\s(?:million|billion|thousand|milliards?|millions?))?)",
            rf"\1 {name}",
            t,
        )
    t = re.sub(r"(\d)\s*°\s*C\b", rf"\1 {words['degrees']} Celsius", t)
    t = re.sub(r"(\d)\s*°\s*F\b", rf"\1 {words['degrees']} Fahrenheit", t)
    t = re.sub(r"(\d)\s*°", rf"\1 {words['degrees']}", t)
    t = re.sub(r"(\d)\s*%", rf"\1 {words['percent']}", t)
    t = re.sub(r"\s*%", " " + words["percent"], t)
    t = re.sub(r"(?:\bNo\.?|\bno\.|n°|N°)\s*(?=\d)", words["number"] + " ", t)  # not "no 5-year plan"
    t = t.replace("n°", words["number"]).replace("N°", words["number"])
    # "&": a word of its own ("R&B" -> "R and B", "Smith & Co" -> "Smith and Co")
    t = re.sub(r"\s*&\s*", f" {words['and']} ", t)
    t = re.sub(r"(?<=\s)\+(?=\s)", words["plus"], t)
    for pattern, said in _ABBREVIATIONS[language]:
        t = re.sub(pattern, said, t)
    t = re.sub(r"[ \t]+", " ", t).strip()
    return re.sub(r" ([,.])", r"\1", t)


_FR_BEFORE = re.compile(r"\s*([:;!?»])")
_FR_AFTER = re.compile(r"«\s*")


def french_typography(text: str) -> str:
    """French spacing: a no-break space before ``: ; ! ? »`` and after ``«``; straight quotes around a
    phrase become guillemets. Times and URLs ("10:30", "http://") are left alone."""
    t = text.replace("\u202f", " ").replace(NBSP, " ")
    t = re.sub(r'"([^"]+)"', r"«\1»", t)
    t = _FR_AFTER.sub("«" + NBSP, t)

    # not inside "10:30" or "http://"
    t = re.sub(r"(?<!\d)\s*([;!?»])|(?<![\d/])\s*(:)(?![/\d])", lambda m: NBSP + (m.group(1) or m.group(2)), t)
    t = re.sub(f"{NBSP}+", NBSP, t)
    t = re.sub(f"^{NBSP}", "", t)
    return t


# -- Roman numerals as a French voice says them -----------------------------------------------------------

_ROMAN_VALUES = {"M": 1000, "D": 500, "C": 100, "L": 50, "X": 10, "V": 5, "I": 1}
ROMAN = re.compile(
    r"\b(?=[MDCLXVI]{2,}(?:e|er|re|ème)?\b|[XV](?:e|er|re|ème)?\b|I(?:er|re)\b)"
    r"(M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3}))(e|er|re|ème)?\b"
)
"""An upper-case Roman numeral (group 1), with a French ordinal ending (group 2: "XVIIe", "Ier")."""


def roman_value(numeral: str) -> int:
    """The value of an upper-case Roman numeral ("XIV" -> 14)."""
    total = 0
    for i, ch in enumerate(numeral):
        v = _ROMAN_VALUES[ch]
        total += -v if i + 1 < len(numeral) and v < _ROMAN_VALUES[numeral[i + 1]] else v
    return total


def roman_numeral_at(text: str, m: re.Match[str]) -> bool:
    """Whether the :data:`ROMAN` match ``m`` of ``text`` is a number: an ordinal ("XVIIe siècle", "Ier") or
    a numeral after a capitalised name ("Louis XIV", "Innocent X"); not a lone "I" nor a word of capitals."""
    if not m.group(1):
        return False
    if m.group(2):
        return True
    before = text[: m.start()]
    return bool(re.search(r"\b[A-ZÀ-Ý][a-zà-ÿ]+[ \u00a0]$", before))


_FR_UNITS = [
    "zéro",
    "un",
    "deux",
    "trois",
    "quatre",
    "cinq",
    "six",
    "sept",
    "huit",
    "neuf",
    "dix",
    "onze",
    "douze",
    "treize",
    "quatorze",
    "quinze",
    "seize",
]
_FR_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante", 8: "quatre-vingt"}


def french_number(n: int) -> str:
    """``n`` (0..999999) in French words, one hyphenated word (the 1990 spelling): 14 -> "quatorze",
    71 -> "soixante-et-onze", 1665 -> "mille-six-cent-soixante-cinq"."""
    if n < 17:
        return _FR_UNITS[n]
    if n < 20:
        return "dix-" + _FR_UNITS[n - 10]
    if n < 100:
        tens, unit = divmod(n, 10)
        if tens in (7, 9):
            base, rest = ("soixante", n - 60) if tens == 7 else ("quatre-vingt", n - 80)
            return f"{base}-et-onze" if n == 71 else f"{base}-{french_number(rest)}"
        if unit == 0:
            return "quatre-vingts" if tens == 8 else _FR_TENS[tens]
        return f"{_FR_TENS[tens]}-{'et-un' if unit == 1 and tens != 8 else _FR_UNITS[unit]}"
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = "cent" if hundreds == 1 else f"{_FR_UNITS[hundreds]}-cent{'' if rest else 's'}"
        return f"{head}-{french_number(rest)}" if rest else head
    thousands, rest = divmod(n, 1000)
    head = "mille" if thousands == 1 else f"{french_number(thousands)}-mille"
    return f"{head}-{french_number(rest)}" if rest else head


def french_ordinal(n: int) -> str:
    """17 -> "dix-septième", 1 -> "premier", 5 -> "cinquième", 9 -> "neuvième"."""
    if n == 1:
        return "premier"
    word = french_number(n)
    word = word[:-1] if word.endswith(("cents", "vingts")) else word
    if word.endswith("cinq"):
        return word + "uième"
    if word.endswith("neuf"):
        return word[:-1] + "vième"
    return word.removesuffix("e") + "ième"


def say_roman_numerals(text: str) -> str:
    """French Roman numerals as words, each still one word so word times stay in place: "Louis XIV" ->
    "Louis quatorze", "Innocent X" -> "Innocent dix", "le XVIIe siècle" -> "le dix-septième siècle",
    "François Ier" -> "François premier" (espeak-ng says "quatorze romain", "iks", "iks vi")."""

    def said(m: re.Match[str]) -> str:
        if not roman_numeral_at(text, m):
            return m.group(0)
        value = roman_value(m.group(1))
        return french_ordinal(value) if m.group(2) or value == 1 else french_number(value)

    return ROMAN.sub(said, text)


SAID_FR: dict[str, str] = {
    "Velázquez": "Vélasquez", "Velazquez": "Vélasquez", "Diego": "Diégo", "Rijn": "Rèïne", "Vermeer": "Vermère",
    "Johannes": "Johannès", "Hyacinthe": "Iacinte", "Berthe": "Bèrte", "Gogh": "Gogue", "John": "Djone",
    "Sargent": "Sardjeunte", "Lady": "Lédi", "Agnew": "Agniou", "Lochnaw": "Lokno",
}  # fmt: skip
"""Painters' and sitters' names respelt as a French speaker says them, for espeak-ng's French voices (it reads
"Vermeer", "Hyacinthe", "Gogh" with English phonemes that MBROLA's French voices cannot say, and "Rijn" as
"rijn", "Velázquez" with a mute e). One word for one word. SVOX Pico says names better unaided (Whisper base
heard Pico's French narrations worse with these respellings: mean word error 0.226 against 0.197)."""

_SAID_FR = re.compile(r"\b(" + "|".join(map(re.escape, SAID_FR)) + r")\b")


def spoken_form(text: str, language: str) -> str:
    """What a voice is given to say ``text`` in ``language``: in French, Roman numerals as words
    (:func:`say_roman_numerals`) and the names of :data:`SAID_FR` respelt. Each word stays one word, so the
    word times of the text still apply; the subtitles show ``text``."""
    if language != "fr":
        return text
    return _SAID_FR.sub(lambda m: SAID_FR[m.group(1)], say_roman_numerals(text))
