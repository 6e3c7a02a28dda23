"""The shared text and file helpers."""

from __future__ import annotations

from pathlib import Path

from vivant.files import file_stem, sha256_of
from vivant.text import fold, normalize, strip_accents, wordset


def test_text_helpers_fold_accents_and_punctuation() -> None:
    assert wordset("van  von de\nda") == frozenset({"van", "von", "de", "da"})
    assert strip_accents("Velázquez Œuvre") == "Velazquez Œuvre"
    assert fold("Joaquín SOROLLA") == "joaquin sorolla"
    assert normalize("Portrait_of  Mme. Récamier (détail)!") == "portrait of mme recamier detail"
    assert normalize("STRASSE") == normalize("straße")  # casefold, not lower


def test_file_helpers(tmp_path: Path) -> None:
    f = tmp_path / "x.bin"
    f.write_bytes(b"abc")
    assert sha256_of(f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert file_stem("wikiart/Baroque/rembrandt") == "wikiart__Baroque__rembrandt"
    assert file_stem("../..") == "__.." and file_stem(".") == "painting"
