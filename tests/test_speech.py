"""Speech cleaning and French typography on a table of inputs."""

from __future__ import annotations

import pytest

from vivant.speech import NBSP, clean_for_speech, french_typography

EN = [
    ("He sang R&B and soul.", "He sang R and B and soul."),
    ("Head of an Old Man, painted c. 1866.", "Head of an Old Man, painted around 1866."),
    ("ca.1650 in Seville", "around 1650 in Seville"),
    ("circa 1503–1519", "around 1503 to 1519"),
    ("Prices rose 50% in a year.", "Prices rose 50 percent in a year."),
    ("It was 30°C in the studio.", "It was 30 degrees Celsius in the studio."),
    ("St. Louis met Dr. Watson and Mrs. Hudson.", "Saint Louis met Doctor Watson and Missus Hudson."),
    ("It sold for $5 million at auction.", "It sold for 5 million dollars at auction."),
    ("It sold for £120,000.", "It sold for 120,000 pounds."),
    ("Symphony No. 5 e.g. a hit", "Symphony number 5 for example a hit"),
    ("Smith & Co bought it", "Smith and Co bought it"),
    ("Henry V 1413", "Henry V 1413"),  # a capital V is a king's number, not "vers"
    ("He lost his sight at six.", "He lost his sight at six."),
    ("There were no 5 o'clock teas.", "There were no 5 o'clock teas."),
]
FR = [
    ("Peint v. 1866 et vers 1870.", "Peint vers 1866 et vers 1870."),
    ("Environ 50 % des toiles", "Environ 50 pour cent des toiles"),
    ("Mme Cézanne et M. Cézanne", "Madame Cézanne et Monsieur Cézanne"),
    ("Rythm & blues, c. 1950", "Rythm et blues, vers 1950"),
    ("Né en 52 av. J.-C.", "Né en 52 avant Jésus-Christ"),
]


@pytest.mark.parametrize(("text", "said"), EN)
def test_english_symbols_and_abbreviations(text: str, said: str) -> None:
    assert clean_for_speech(text, "en") == said
    assert clean_for_speech(said, "en") == said  # idempotent


@pytest.mark.parametrize(("text", "said"), FR)
def test_french_symbols_and_abbreviations(text: str, said: str) -> None:
    assert clean_for_speech(text, "fr") == said


def test_french_typography() -> None:
    text = french_typography('Petit potin: tu as une minute ? Oui! "La Joconde" ; à 10:30, sur http://x.fr.')
    assert text == (
        f"Petit potin{NBSP}: tu as une minute{NBSP}? Oui{NBSP}! «{NBSP}La Joconde{NBSP}»{NBSP}; à 10:30, "
        "sur http://x.fr."
    )
    assert french_typography(text) == text
