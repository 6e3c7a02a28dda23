"""TemplateWriter: every painting of the demo catalog, both languages, with and without research notes."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from vivant.backends.local.writer import TemplateWriter, looks_french, speakable
from vivant.roles import MAX_SCRIPT_WORDS, Fact, Language, Painting, ResearchNotes, Script, Source, Writer

LANGUAGES: tuple[Language, ...] = ("fr", "en")
FIRST_PERSON = {
    "en": re.compile(r"\b(I|my|me|I'm)\b"),
    "fr": re.compile(r"\b(je|j'|moi|mon|ma|mes|m')", re.IGNORECASE),
}
SPEAKABLE_CHARS = re.compile(r"^[\w\s.,;:!?'\"«»-]+$")


def _year(text: str) -> int | None:
    m = re.search(r"\d{4}", text)
    return int(m.group()) if m else None


@pytest.fixture(scope="module")
def paintings(paintings_dir: Path) -> list[Painting]:
    with (paintings_dir / "catalog.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows
    return [
        Painting(
            id=i,
            key=Path(row["file"]).stem,
            title=row["title"],
            artist=row["artist"],
            year=_year(row["year"]),
            artist_died=_year(row["artist_died"]),
            genre="portrait" if row["kind"] == "portrait" else None,
            image_path=paintings_dir / row["file"],
        )
        for i, row in enumerate(rows)
    ]


def _source(painting: Painting, what: str) -> Source:
    return Source(archive="test.zim", path=f"A/{what}_{painting.key}", title=what)


def english_notes(painting: Painting) -> ResearchNotes:
    """Notes as the ZIM researcher returns them: English sentences of a Wikipedia lead, with sources."""
    a, p = _source(painting, "artist"), _source(painting, "painting")
    surname = painting.artist.split()[-1]
    artist_facts = [
        Fact(text=f"{painting.artist} (1600 – 1680) was a painter who worked in Zwolle for most of a life.", source=a),
        Fact(text="He trained with a master in Zwolle and joined the painters' guild of the town in 1624.", source=a),
        Fact(
            text=f"{surname} painted fewer than forty works, most of them for private collectors in Zwolle.", source=a
        ),
    ]
    painting_facts = [
        Fact(
            text=f"{painting.title} is an oil painting on canvas, dated c. 1640, kept in a collection in Zwolle.",
            source=p,
        ),
        Fact(text="The sitter's identity has been debated by historians since the 19th century in Zwolle.", source=p),
    ]
    return ResearchNotes(artist_facts=artist_facts, painting_facts=painting_facts, sources=[a, p], searched=["test"])


def french_notes(painting: Painting) -> ResearchNotes:
    a = _source(painting, "artiste")
    return ResearchNotes(
        artist_facts=[
            Fact(
                text=f"{painting.artist} est un peintre qui a vécu et travaillé à Zwolle, dans les Pays-Bas.", source=a
            )
        ],
        sources=[a],
    )


NOTES = {
    "none": lambda p: ResearchNotes(),
    "english": english_notes,
    "french": french_notes,
}


@pytest.fixture(scope="module")
def writer() -> TemplateWriter:
    return TemplateWriter()


def test_is_a_writer(writer: TemplateWriter) -> None:
    assert isinstance(writer, Writer)
    assert writer.name == "local:template"
    assert writer.degraded is True


@pytest.mark.parametrize("notes_kind", list(NOTES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalog_painting_gives_a_valid_script(
    writer: TemplateWriter, paintings: list[Painting], language: Language, notes_kind: str
) -> None:
    for painting in paintings:
        notes = NOTES[notes_kind](painting)
        script = writer.write(painting, notes, language)
        text = script.script
        n = len(text.split())
        where = f"{painting.key} [{language}, {notes_kind}]: {text}"

        assert Script.model_validate(script.model_dump()) == script  # validates as a Script
        assert script.language == language
        assert 40 <= n <= MAX_SCRIPT_WORDS, f"{n} words: {where}"
        assert n <= 130, f"{n} words, above the target: {where}"
        assert painting.artist in text, where  # the full name
        assert FIRST_PERSON[language].search(text), where
        assert script.hook and text.startswith(script.hook)
        assert 1 <= len(script.title) <= 100
        assert 3 <= len(script.hashtags) <= 6
        assert all(t.startswith("#") and " " not in t and t[1:].isalnum() for t in script.hashtags)
        assert len(set(script.hashtags)) == len(script.hashtags)
        # read by a TTS voice: no markdown, hashtags, brackets or emojis
        assert SPEAKABLE_CHARS.match(text), where
        assert "#" not in text and "*" not in text and "(" not in text and "[" not in text
        assert "  " not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_deterministic(writer: TemplateWriter, paintings: list[Painting], language: Language) -> None:
    for painting in paintings:
        notes = english_notes(painting)
        assert writer.write(painting, notes, language) == writer.write(painting, notes, language)
        assert TemplateWriter().write(painting, ResearchNotes(), language) == writer.write(
            painting, ResearchNotes(), language
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_different_paintings_sound_different(
    writer: TemplateWriter, paintings: list[Painting], language: Language
) -> None:
    scripts = [writer.write(p, ResearchNotes(), language) for p in paintings]
    assert len({s.script for s in scripts}) == len(paintings)
    # not just the title: the template variants differ too
    assert len({s.hook for s in scripts}) >= 3
    closings = {s.script.rsplit(". ", 1)[-1] for s in scripts}
    assert len(closings) >= 3
    # the same painting under another key may get another variant, but the same key always the same one
    same = paintings[0]
    other = same.model_copy(update={"key": same.key + "-other"})
    assert writer.write(same, ResearchNotes(), language) == writer.write(same, ResearchNotes(), language)
    assert writer.write(other, ResearchNotes(), language).artist == same.artist


def test_hashtags_name_the_artist(writer: TemplateWriter, paintings: list[Painting]) -> None:
    by_key = {p.key: p for p in paintings}
    en = writer.write(by_key["vermeer_girl-with-a-pearl-earring"], ResearchNotes(), "en").hashtags
    fr = writer.write(by_key["vermeer_girl-with-a-pearl-earring"], ResearchNotes(), "fr").hashtags
    assert en[:3] == ["#art", "#portrait", "#vermeer"] and "#arthistory" in en
    assert fr[:3] == ["#art", "#portrait", "#vermeer"] and "#histoiredelart" in fr
    assert "#velazquez" in writer.write(by_key["velazquez_portrait-of-pope-innocent-x"], ResearchNotes(), "en").hashtags
    assert "#vangogh" in writer.write(by_key["van-gogh_the-starry-night"], ResearchNotes(), "en").hashtags


def test_without_notes_nothing_is_invented(writer: TemplateWriter, paintings: list[Painting]) -> None:
    for painting in paintings:
        allowed = {str(y) for y in (painting.year, painting.artist_died) if y}
        for language in LANGUAGES:
            script = writer.write(painting, ResearchNotes(), language)
            assert set(re.findall(r"\d+", script.script)) <= allowed, script.script
            assert script.sources == []


def test_english_facts_are_used_with_their_sources(writer: TemplateWriter, paintings: list[Painting]) -> None:
    for painting in paintings:
        notes = english_notes(painting)
        script = writer.write(painting, notes, "en")
        assert "Zwolle" in script.script, script.script  # a fact made it in
        assert f"My painter, {painting.artist}," in script.script or "I am an oil painting" in script.script
        assert script.sources
        assert set(s.path for s in script.sources) <= {s.path for s in notes.sources}
        # every number comes from the metadata or the notes
        allowed = {str(y) for y in (painting.year, painting.artist_died) if y} | {"1600", "1680", "1624", "1640", "19"}
        assert set(re.findall(r"\d+", script.script)) <= allowed, script.script


def test_painting_fact_is_said_in_first_person(writer: TemplateWriter, paintings: list[Painting]) -> None:
    painting = paintings[1]
    script = writer.write(painting, english_notes(painting), "en")
    assert "I am an oil painting on canvas, dated around 1640" in script.script


def test_french_does_not_use_english_facts(writer: TemplateWriter, paintings: list[Painting]) -> None:
    for painting in paintings:
        script = writer.write(painting, english_notes(painting), "fr")
        assert "Zwolle" not in script.script
        assert script.sources == []
        assert script == writer.write(painting, ResearchNotes(), "fr")


def test_french_facts_are_used_in_french(writer: TemplateWriter, paintings: list[Painting]) -> None:
    painting = paintings[0]
    script = writer.write(painting, french_notes(painting), "fr")
    assert re.search(rf"{painting.artist},( celui qui m'a peinte?,)? est un peintre qui a vécu", script.script)
    assert script.sources == french_notes(painting).sources
    assert "Zwolle" not in writer.write(painting, french_notes(painting), "en").script


def test_artist_facts_about_someone_else_are_left_out(writer: TemplateWriter, paintings: list[Painting]) -> None:
    painting = paintings[0]
    src = Source(archive="t.zim", path="A/Johannes_Brahms", title="Johannes Brahms")
    notes = ResearchNotes(
        artist_facts=[Fact(text="Johannes Brahms was a German composer and pianist born in Hamburg.", source=src)]
    )
    script = writer.write(painting, notes, "en")
    assert "Brahms" not in script.script
    assert script.sources == []


def test_long_facts_are_trimmed_to_fit(writer: TemplateWriter, paintings: list[Painting]) -> None:
    painting = paintings[0]
    src = Source(archive="t.zim", path="A/x", title="x")
    long = " ".join(["word"] * 38)
    notes = ResearchNotes(
        artist_facts=[Fact(text=f"{painting.artist} was a painter and {long}.", source=src) for _ in range(8)],
        painting_facts=[Fact(text=f"{painting.title} is a painting and {long}.", source=src) for _ in range(8)],
    )
    for language in LANGUAGES:
        script = writer.write(painting, notes, language)
        assert len(script.script.split()) <= 130


def test_absurd_metadata_still_validates(writer: TemplateWriter) -> None:
    painting = Painting(
        id=99,
        key="x_absurd",
        title=" ".join(["Extremely"] * 160) + " (detail) 🎨",
        artist="Élisabeth Vigée Le Brun",
        year=None,
        artist_died=None,
        genre="religious_painting",
        style="Neoclassicism",
        image_path=Path("x.jpg"),
    )
    for language in LANGUAGES:
        script = writer.write(painting, ResearchNotes(), language)
        assert len(script.script.split()) <= MAX_SCRIPT_WORDS
        assert len(script.title) <= 100
        assert "Élisabeth Vigée Le Brun" in script.script
        assert "🎨" not in script.script
        assert 3 <= len(script.hashtags) <= 6


def test_optional_metadata_is_used(writer: TemplateWriter) -> None:
    painting = Painting(
        id=7,
        key="ingres_test",
        title="Madame Moitessier",
        artist="Jean-Auguste-Dominique Ingres",
        year=1856,
        artist_died=1867,
        genre="portrait",
        style="Neoclassicism",
        image_path=Path("x.jpg"),
    )
    en = writer.write(painting, ResearchNotes(), "en")
    fr = writer.write(painting, ResearchNotes(), "fr")
    assert "1856" in en.script and "1856" in fr.script
    assert "#neoclassicism" in en.hashtags
    assert "#ingres" in en.hashtags or "#jeanaugustedominiqueingres" in en.hashtags


def test_helpers() -> None:
    assert speakable("Vermeer (1632–1675) painted c. 1665 [1] 🎨 *bold*") == "Vermeer painted around 1665 bold."
    assert speakable("from 1632–1675") == "from 1632 to 1675."
    assert looks_french("Il est né à Delft et il a peint la Laitière.")
    assert not looks_french("He was born in Delft and painted the Milkmaid.")


# -- range: a night repeats no opening or closing ------------------------------------------------------------------


def _portraits(paintings: list[Painting]) -> list[Painting]:
    portraits = [p for p in paintings if p.genre == "portrait"]
    assert len(portraits) == 13
    return portraits


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("night", ["0001", "0002"])
def test_a_night_of_the_13_portraits_repeats_no_opening_or_closing(
    writer: TemplateWriter, paintings: list[Painting], language: Language, night: str
) -> None:
    from vivant.backends.local.writer_banks import night_slot, phrases

    bank = phrases(language)
    openings, closings = [], []
    for position, painting in enumerate(_portraits(paintings)):
        with night_slot(position, night):
            script = writer.write(painting, ResearchNotes(), language)
        openings.append(script.hook)
        closings.append(next(c for c in closings_of(bank, language) if script.script.endswith(c)))
    assert len(set(openings)) == 13, openings
    assert len(set(closings)) == 13, closings


def closings_of(bank: dict[str, list[str]], language: Language) -> list[str]:
    from vivant.backends.local.writer import speakable
    from vivant.speech import french_typography

    out = []
    for c in bank["closings"]:
        for e in ("", "e"):
            said = speakable(c.replace("{e}", e), language)
            out.append(french_typography(said) if language == "fr" else said)
    return out


def test_banks_are_large_enough_for_a_night_of_20() -> None:
    from vivant.backends.local.writer_banks import phrases

    for language in LANGUAGES:
        bank = phrases(language)
        assert len(bank["openings"]) >= 24 and len(bank["closings"]) >= 24
        assert len(set(bank["openings"])) == len(bank["openings"])
        assert len(set(bank["closings"])) == len(bank["closings"])
        assert len(bank["banter"]) >= 15


def test_night_of_20_with_hash_picks_is_varied_and_slots_are_stable(
    writer: TemplateWriter, paintings: list[Painting]
) -> None:
    from vivant.backends.local.writer import night_slot

    base = paintings[0]
    many = [base.model_copy(update={"key": f"k{i}", "title": f"Study {i}"}) for i in range(20)]
    hooks = []
    for i, p in enumerate(many):
        with night_slot(i, "0007"):
            hooks.append(writer.write(p, ResearchNotes(), "en").hook)
    assert len(set(hooks)) == 20
    with night_slot(3, "0007"):
        again = writer.write(many[3], ResearchNotes(), "en").hook
    assert again == hooks[3]  # the same painting in the same night: the same script
    other_night = []
    for i, p in enumerate(many):
        with night_slot(i, "0008"):
            other_night.append(writer.write(p, ResearchNotes(), "en").hook)
    assert other_night != hooks and len(set(other_night)) == 20  # another night rotates the banks


# -- the sitter, French titles and typography -----------------------------------------------------------------------


def test_lines_fit_the_sitter() -> None:
    from vivant.backends.local.writer_subject import sitter_profile

    def profile(title: str, gender: str | None = None) -> tuple[str, tuple[str, ...]]:
        p = Painting(id=1, key="x", title=title, artist="A B", image_path=Path("x.jpg"), gender=gender)  # type: ignore[arg-type]
        sp = sitter_profile(p)
        return sp.gender, sp.kinds

    assert profile("Lady Agnew of Lochnaw") == ("female", ())
    assert profile("Portrait of Pope Innocent X") == ("male", ("royal",))
    assert profile("Portrait of Louis XIV (detail crop)")[1] == ("royal",)
    assert profile("Self-Portrait with Two Circles") == ("unclear", ("self",))
    assert profile("Bacchus") == ("male", ("myth",))
    assert profile("Head of an Old Man") == ("male", ("old",))
    assert profile("The Milkmaid") == ("female", ("work",))
    assert profile("Girl with a Pearl Earring") == ("female", ("young",))
    assert profile("Mona Lisa", "female") == ("female", ())


def test_french_agrees_with_a_woman_sitter(writer: TemplateWriter, paintings: list[Painting]) -> None:
    lady = next(p for p in paintings if p.title == "Lady Agnew of Lochnaw")
    texts = []
    for position in range(30):
        from vivant.backends.local.writer import night_slot

        with night_slot(position, "n"):
            texts.append(writer.write(lady, ResearchNotes(), "fr").script)
    joined = " ".join(texts)
    assert "peinte" in joined
    assert not re.search(r"m'a peint\b", joined)


def test_french_title_from_the_catalog_or_said_less(writer: TemplateWriter, paintings: list[Painting]) -> None:
    from vivant.backends.local.writer_subject import french_title

    famous = next(p for p in paintings if p.title == "Girl with a Pearl Earring")
    pearl = famous.model_copy(update={"title": "Girl with a Pearl Necklace"})  # not a well-known work's title
    assert french_title(pearl) is None
    plain = writer.write(pearl, ResearchNotes(), "fr")
    assert "Girl" not in plain.script and "Pearl" not in plain.script  # no English title inside French
    assert plain.painting_title == "Girl with a Pearl Necklace"  # the card shows the original title
    translated = pearl.model_copy(update={"title_fr": "La Jeune Fille à la perle"})
    script = writer.write(translated, ResearchNotes(), "fr")
    assert "La Jeune Fille à la perle" in script.script
    assert script.painting_title == "La Jeune Fille à la perle"
    assert writer.write(translated, ResearchNotes(), "en").painting_title == "Girl with a Pearl Necklace"
    by_archive = writer.write(pearl, ResearchNotes(titles={"fr": "La Jeune Fille à la perle"}), "fr")
    assert by_archive.painting_title == "La Jeune Fille à la perle"
    bacchus = next(p for p in paintings if p.title == "Bacchus")
    assert french_title(bacchus) == "Bacchus"
    marion = next(p for p in paintings if p.title == "Portrait of Fortuné Marion")
    assert french_title(marion) == "Portrait de Fortuné Marion"
    pope = next(p for p in paintings if p.title == "Portrait of Pope Innocent X")
    assert french_title(pope) == "Portrait du pape Innocent X"  # a well-known work (package data)
    assert french_title(pope.model_copy(update={"title": "Portrait of Pope Pius II"})) is None


@pytest.mark.parametrize("position", range(6))
def test_french_typography(writer: TemplateWriter, paintings: list[Painting], position: int) -> None:
    from vivant.backends.local.writer import night_slot

    with night_slot(position, "typo"):
        for painting in paintings:
            script = writer.write(painting, french_notes(painting), "fr")
            for text in (script.script, script.title, script.hook):
                assert not re.search(r"[^\u00a0][:;!?](\s|$)", text), text  # a no-break space before : ; ! ?
                assert " :" not in text and " ?" not in text


def test_facts_are_ranked_and_cleaned_before_the_writer(writer: TemplateWriter, paintings: list[Painting]) -> None:
    painting = paintings[0]
    src = Source(archive="t.zim", path="A/x", title=painting.title)
    notes = ResearchNotes(
        painting_facts=[Fact(text=f"{painting.title} was sold for $5 million & more, c. 1900.", source=src)],
        titles={"en": painting.title},
    )
    script = writer.write(painting, notes, "en")
    assert "I was sold for 5 million dollars and more, around 1900." in script.script


# -- step 1 tells the writer its place in the night and the sitter step 0 saw ------------------------------------


def test_night_position_from_the_units_folder(tmp_path: Path) -> None:
    from vivant.steps.script import night_position

    night = tmp_path / "batches" / "0004"
    for name in ("b-painting", "a-painting", "c-painting", ".tmp-x"):
        (night / name).mkdir(parents=True)
    assert night_position(night / "b-painting" / ".tmp-1-script-fr-7") == (1, "0004")
    assert night_position(night / "c-painting" / ".tmp-1-script-en-9") == (2, "0004")
    assert night_position(tmp_path / "elsewhere" / "x") == (0, "")


def test_the_verdicts_gender_reaches_the_writer(tmp_path: Path, paintings: list[Painting]) -> None:
    from types import SimpleNamespace

    from vivant.steps.script import _with_sitter

    verdict = tmp_path / "verdict.json"
    verdict.write_text(json.dumps({"sitter": {"gender": "female", "source": "faces", "confidence": 0.8}}))
    mona = paintings[0]
    ctx = SimpleNamespace(painting=mona, input=lambda step, kind: verdict)
    assert _with_sitter(ctx).gender == "female"  # type: ignore[arg-type]
    ctx.painting = mona.model_copy(update={"gender": "male"})  # the catalog's column wins
    assert _with_sitter(ctx).gender == "male"  # type: ignore[arg-type]
    ctx.painting, ctx.input = mona, lambda step, kind: tmp_path / "missing.json"
    assert _with_sitter(ctx).gender is None  # type: ignore[arg-type]


def test_well_known_works_keep_their_usual_french_title() -> None:
    from vivant.backends.local.writer_subject import french_title

    girl = Painting(id=1, key="girl", title="Girl with a Pearl Earring", artist="Johannes Vermeer", year=1665,
                    image_path=Path("girl.jpg"))  # fmt: skip
    assert french_title(girl) == "La Jeune Fille à la perle"
    script = TemplateWriter().write(girl, ResearchNotes(), "fr")
    assert script.painting_title == "La Jeune Fille à la perle"
    # another painter's work of the same title is not taken for it
    other = girl.model_copy(update={"artist": "Jane Doe"})
    assert french_title(other) is None
