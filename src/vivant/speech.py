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
