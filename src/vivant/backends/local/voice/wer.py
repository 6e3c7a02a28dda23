"""The word error rate, and the one way words are compared for it (voice benchmark, voice tests and QA).

:func:`tokens` writes a French or English text the way it is compared: lower case with accents kept, apostrophes
(' ’ ʼ) and hyphens split words ("s'il" and Whisper's "s 'il" -> ``s il``; "abonne-toi" and "abonne -toi" ->
``abonne toi``), punctuation dropped, and every number one token of digits whether written in digits or in
words ("1665", "mille six cent soixante-cinq" and "seize cent soixante-cinq" -> ``1665``; "dix-septième",
"17ème", "17e" and "XVIIe" -> ``17e``; "Louis XIV" and "Louis 14" -> ``louis 14``). Nothing else is forgiven: a
word heard wrong is one error.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from vivant.speech import ROMAN, roman_numeral_at, roman_value

_UNITS = {
    "zéro": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8,
    "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16,
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60, "septante": 70,
    "huitante": 80, "octante": 80, "nonante": 90,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_HUNDRED = {"cent", "cents", "hundred"}
_SCALES = {"mille": 1000, "thousand": 1000, "million": 10**6, "millions": 10**6}
_JOINERS = {"et", "and"}
_ORDINAL_WORDS = {
    "premier": "un", "première": "un", "first": "one", "second": "two", "third": "three", "fifth": "five",
    "eighth": "eight", "ninth": "nine", "twelfth": "twelve",
}  # fmt: skip
_ORDINAL_STEMS = {"cinqu": "cinq", "neuv": "neuf"}
_DIGIT_ORDINAL = re.compile(r"^(\d+)(?:e|è|ème|eme|er|re|ère|ere|st|nd|rd|th)$")


def _romans_to_digits(text: str) -> str:
    """Roman numerals that are numbers (:func:`vivant.speech.roman_numeral_at`) in digits: "Louis XIV" ->
    "Louis 14", "XVIIe" -> "17e"; a lone "I" or a word of capitals stays as it is."""

    def repl(m: re.Match[str]) -> str:
        if not roman_numeral_at(text, m):
            return m.group(0)
        return f"{roman_value(m.group(1))}{'e' if m.group(2) else ''}"

    return ROMAN.sub(repl, text)


def _ordinal_base(word: str) -> str | None:
    """The cardinal word of an ordinal word ("dix-septième" part "septième" -> "sept"), or None."""
    if word in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[word]
    for suffix in ("ième", "ieme", "th"):
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            stem = word[: -len(suffix)]
            if word.endswith("ieth"):  # twentieth -> twenty
                stem = word[:-4] + "y"
            for cand in (_ORDINAL_STEMS.get(stem, stem), stem + "e"):
                if cand in _UNITS or cand in _TENS or cand in _HUNDRED or cand in _SCALES:
                    return cand
    return None


def _number_words(words: list[str]) -> list[str]:
    """Runs of number words as one digit token ("dix sept" -> "17", "seize cent" -> "1600")."""
    out: list[str] = []
    total = current = 0
    ordinal = in_number = False

    def flush() -> None:
        nonlocal total, current, ordinal, in_number
        if in_number:
            out.append(f"{total + current}{'e' if ordinal else ''}")
        total = current = 0
        ordinal = in_number = False

    def fits(word: str) -> bool:
        """Whether ``word`` continues the number being read ("vingt" + "et un", "cent" + "deux")."""
        if not in_number or ordinal:
            return False
        last, started = current % 100, current > 0 or total > 0
        if word in _UNITS:
            v = _UNITS[word]
            return (last == 0 and started) or (last % 10 == 0 and last != 0 and (v < 10 or last in (60, 80)))
        if word in _TENS:
            return (last == 0 and started) or (word.startswith("vingt") and last == 4)
        if word in _HUNDRED:
            return current < 100
        if _SCALES[word] == 1000:
            return total % 10**6 == 0 and current < 1000
        return total == 0 and current < 1000

    for i, raw in enumerate(words):
        base = _ordinal_base(raw)
        word = base or raw
        if word in _JOINERS and in_number and i + 1 < len(words) and fits(_ordinal_base(words[i + 1]) or words[i + 1]):
            continue
        if not (word in _UNITS or word in _TENS or word in _HUNDRED or word in _SCALES):
            flush()
            out.append(raw)
            continue
        if in_number and not fits(word):
            flush()
        in_number = True
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current = current - 4 + 80 if word.startswith("vingt") and current % 100 == 4 else current + _TENS[word]
        elif word in _HUNDRED:
            current = max(current, 1) * 100
        else:
            scale = _SCALES[word]
            total = (total + max(current, 1)) * scale if scale > 1000 else total + max(current, 1) * scale
            current = 0
        ordinal = base is not None
    flush()
    return out


def tokens(text: str) -> list[str]:
    """The words of ``text`` as compared (see the module's doc): ``"L'homme, au XVIIe siècle !"`` ->
    ``["l", "homme", "au", "17e", "siècle"]``."""
    t = unicodedata.normalize("NFC", text)
    t = _romans_to_digits(t)
    t = re.sub(r"(?<=\d)[,.\u00a0\u202f](?=\d{3}\b)", "", t)  # 1,665 / 10 000 (no-break space) -> one number
    t = t.casefold()
    t = re.sub(r"['’ʼ‘`´\-‐‑–—_]", " ", t)
    words = re.sub(r"[^\w]+", " ", t).split()
    words = [f"{m.group(1)}e" if (m := _DIGIT_ORDINAL.match(w)) else w for w in words]
    return _number_words(words)


def edit_rate(ref: Sequence[str], hyp: Sequence[str]) -> float:
    """(substitutions + deletions + insertions) / len(ref), Levenshtein over words already tokenised."""
    if not ref:
        return 0.0 if not hyp else 1.0
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / len(ref)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word error rate of what was heard (``hypothesis``) against the script (``reference``), on :func:`tokens`."""
    return edit_rate(tokens(reference), tokens(hypothesis))
