"""The one way words are compared for the word error rate (voice benchmark, voice tests, QA), on what Whisper
base really wrote for the demo's French narrations spoken by MBROLA."""

from __future__ import annotations

import pytest

from vivant.backends.local.voice.wer import tokens, word_error_rate
from vivant.qa.speech import wer as qa_wer
from vivant.speech import french_number, french_ordinal, roman_value, say_roman_numerals, spoken_form


def test_whisper_spellings_of_the_same_words_match() -> None:
    # Whisper base's own writing (elisions split before the apostrophe, hyphens, ordinals in digits)
    assert tokens("S'il te plaît, abonne-toi. Aujourd'hui, l'autoportrait !") == tokens(
        "s 'il te plaît, abonne -toi. aujourd 'hui, l 'autoportrait ?"
    )
    assert tokens("Abonne-toi") == tokens("Abonne toi") == ["abonne", "toi"]
    assert tokens("le dix-septième siècle") == tokens("le 17ème siècle") == tokens("le XVIIe siècle") == [
        "le", "17e", "siècle",
    ]  # fmt: skip
    assert tokens("L’homme") == tokens("l'homme") == ["l", "homme"]


def test_numbers_in_words_and_digits_are_one_token() -> None:
    assert tokens("en 1665") == tokens("en mille six cent soixante-cinq") == tokens("en seize cent soixante-cinq")
    assert tokens("quatre-vingt-dix-sept, soixante et onze, vingt et un") == ["97", "71", "21"]
    assert tokens("un deux trois quatre") == ["1", "2", "3", "4"]  # separate numbers stay separate
    assert tokens("deux mille vingt-six") == ["2026"]
    assert tokens("one hundred and five, the twenty-first century") == ["105", "the", "21e", "century"]
    assert tokens("Louis XIV") == tokens("Louis 14") == tokens("louis quatorze") == ["louis", "14"]
    assert tokens("Portrait du pape Innocent X") == ["portrait", "du", "pape", "innocent", "10"]
    assert tokens("Then I said") == ["then", "i", "said"]  # a lone I is a pronoun
    assert tokens("François Ier") == tokens("François premier") == ["françois", "1e"]


def test_a_french_voice_is_given_roman_numerals_as_words_one_word_each() -> None:
    text = "Louis XIV en costume, Innocent X. Le XVIIe siècle, François Ier. Then I said CD."
    said = say_roman_numerals(text)
    assert said == (
        "Louis quatorze en costume, Innocent dix. Le dix-septième siècle, François premier. Then I said CD."
    )
    assert len(said.split()) == len(text.split())  # word times stay on their words
    assert tokens(said) == tokens(text)
    assert roman_value("MDCLXV") == 1665 and roman_value("XIV") == 14
    assert [french_number(n) for n in (21, 71, 80, 91, 200, 1665)] == [
        "vingt-et-un", "soixante-et-onze", "quatre-vingts", "quatre-vingt-onze", "deux-cents",
        "mille-six-cent-soixante-cinq",
    ]  # fmt: skip
    assert [french_ordinal(n) for n in (1, 3, 5, 9, 19, 80)] == [
        "premier", "troisième", "cinquième", "neuvième", "dix-neuvième", "quatre-vingtième",
    ]  # fmt: skip


def test_accents_are_kept_and_a_wrong_word_is_wrong() -> None:
    assert tokens("Être peint, c'est épuisant") == ["être", "peint", "c", "est", "épuisant"]
    assert word_error_rate("Je suis là.", "je suis la") == pytest.approx(1 / 3)  # là (there) is not la (the)
    assert word_error_rate("je me suis peint en 1665", "je me suis peint en 1666") == pytest.approx(1 / 6)
    assert word_error_rate("un deux trois quatre", "un trois quatre cinq") == 0.5
    assert word_error_rate("", "") == 0.0 and word_error_rate("", "bonjour") == 1.0


def test_real_whisper_transcript_scores_only_its_real_mistakes() -> None:
    script = (
        "Coucou, de l'autre côté du vernis. Mon nom : Portrait du pape Innocent X. Mon année : 1650. "
        "La mode du dix-septième siècle, toujours impeccable. Abonne-toi pour la suite."
    )
    heard = (  # Whisper base on MBROLA fr1 (with its mistakes: "pôtre est du Papineau -San")
        "Coucou, de l 'autre côté du vernis. Mon nom, pôtre est du Papineau -San X. Mon année, 1650. "
        "La mode du 17ème siècle, toujours impeccable. Abonne -toi pour la suite."
    )
    ref = tokens(script)
    assert len(ref) == 29
    # portrait->pôtre, pape->papineau, innocent->san, +est (one insertion): 4 errors; X/10 heard as X: right
    assert word_error_rate(script, heard) == pytest.approx(4 / 29)
    assert qa_wer(script, heard) == word_error_rate(script, heard)  # QA measures the same way


def test_french_voices_are_given_names_as_a_french_speaker_says_them() -> None:
    text = "Diego Velázquez m'a peint, pas Johannes Vermeer ni Louis XIV."
    said = spoken_form(text, "fr")
    assert said == "Diégo Vélasquez m'a peint, pas Johannès Vermère ni Louis quatorze."
    assert len(said.split()) == len(text.split())
    assert spoken_form(text, "en") == text  # English voices read names their own way
    assert spoken_form("Vermeerish Diegos", "fr") == "Vermeerish Diegos"  # whole words only
