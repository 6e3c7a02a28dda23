"""ZimResearcher on the real archives of ../shared/data/zim and on archives written here with libzim's Creator."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from vivant.backends import zim as zim_mod
from vivant.backends.zim import ZimResearcher, html_lead_paragraphs, split_sentences
from vivant.errors import ConfigError
from vivant.roles import Painting, Researcher

MINI_WIKI = "wikipedia_en_100_mini_2022-10.zim"
WIKIBOOKS_BE = "wikibooks_be_all_nopic_2017-02.zim"

VERMEER_HTML = """<!DOCTYPE html>
<html><head><meta charset="UTF-8"><title>Johannes Vermeer</title>
<script>var tracker = "SCRIPT-MARKER should never be read";</script>
<style>.infobox { color: red }</style></head>
<body><div id="content">
<h1>Johannes Vermeer</h1>
<div class="hatnote">For the crater, see Vermeer (crater). HATNOTE-MARKER</div>
<table class="infobox"><tr><th>Born</th><td>INFOBOX-MARKER Delft</td></tr></table>
<p><b>Johannes Vermeer</b> (also Jan Vermeer; October 1632 &ndash; 15 December 1675) was a Dutch Baroque
painter who specialised in domestic interior scenes of middle-class life.<sup class="reference">[1]</sup>
He was born in Delft in 1632 and spent his whole life there.<sup>[2]</sup></p>
<p class="mw-empty-elt"></p>
<p>Vermeer painted slowly, producing perhaps three paintings a year, and he worked with expensive pigments
such as ultramarine. He was recognised during his lifetime in Delft and The Hague, but he died in debt in 1675.
Nice.</p>
<h2>Life</h2>
<p>SECTION-MARKER This paragraph belongs to a later section and is not part of the lead.</p>
<ol class="references"><li>REFERENCE-MARKER Montias, 1989.</li></ol>
</div></body></html>
"""

PEARL_HTML = """<html><head><title>Girl with a Pearl Earring</title></head><body>
<p><i>Girl with a Pearl Earring</i> is an oil painting by Dutch Golden Age painter Johannes Vermeer, dated
c. 1665. It has been in the collection of the Mauritshuis in The Hague since 1902.</p>
<h2>Description</h2><p>SECTION-MARKER a later section.</p>
</body></html>"""

BRAHMS_HTML = """<html><body><p>Johannes Brahms (7 May 1833 &ndash; 3 April 1897) was a German composer,
pianist and conductor of the mid-Romantic period, born in Hamburg in 1833.</p></body></html>"""

DELFT_HTML = """<html><body><p>Delft is a city and municipality in the province of South Holland, in the
Netherlands, known for its pottery since the 17th century.</p></body></html>"""


@dataclass(frozen=True)
class Built:
    path: Path
    prefix: str
    fulltext: bool


def write_zim(
    path: Path,
    articles: dict[str, tuple[str, str]],
    *,
    main: str,
    language: str = "eng",
    title: str = "Tableau Vivant test archive",
    prefix: str = "",
    fulltext: bool = True,
    redirects: tuple[tuple[str, str, str], ...] = (),
) -> Path:
    """A real ZIM archive of ``articles`` (slug -> (title, HTML)), with ``redirects`` (slug, title, target)."""
    from libzim.writer import Creator, Hint, Item, StringProvider

    class Article(Item):
        def __init__(self, slug: str, title: str, html: str) -> None:
            super().__init__()
            self.slug, self.title, self.html = slug, title, html

        def get_path(self) -> str:
            return prefix + self.slug

        def get_title(self) -> str:
            return self.title

        def get_mimetype(self) -> str:
            return "text/html"

        def get_contentprovider(self) -> StringProvider:
            return StringProvider(self.html)

        def get_hints(self) -> dict[Hint, int]:
            return {Hint.FRONT_ARTICLE: True}

    with Creator(str(path)).config_indexing(fulltext, language) as creator:
        creator.set_mainpath(prefix + main)
        creator.add_metadata("Title", title)
        creator.add_metadata("Language", language)
        for slug, (name, html) in articles.items():
            creator.add_item(Article(slug, name, html))
        for slug, name, target in redirects:
            creator.add_redirection(prefix + slug, name, prefix + target, {Hint.FRONT_ARTICLE: True})
    return path


def _body(articles: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    return {slug: (title, f"<html><body>{html}</body></html>") for slug, (title, html) in articles.items()}


ARTICLES = {
    "Johannes_Vermeer": ("Johannes Vermeer", VERMEER_HTML),
    "Girl_with_a_Pearl_Earring": ("Girl with a Pearl Earring", PEARL_HTML),
    "Johannes_Brahms": ("Johannes Brahms", BRAHMS_HTML),
    "Delft": ("Delft", DELFT_HTML),
}


def _write_zim(path: Path, *, prefix: str, fulltext: bool) -> Path:
    return write_zim(
        path,
        ARTICLES,
        main="Johannes_Vermeer",
        prefix=prefix,
        fulltext=fulltext,
        redirects=(("Vermeer", "Vermeer", "Johannes_Vermeer"),),
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    folder = tmp_path_factory.mktemp("zims")
    specs = {
        "plain": ("", True),  # new path scheme, full-text index
        "a_paths": ("A/", True),  # old-style A/ paths
        "no_index": ("", False),  # no full-text index: title suggestions only
    }
    return {
        name: Built(_write_zim(folder / f"test_{name}.zim", prefix=prefix, fulltext=ft), prefix, ft)
        for name, (prefix, ft) in specs.items()
    }


def _painting(title: str, artist: str, key: str | None = None) -> Painting:
    return Painting(
        id=1,
        key=key or f"{artist}_{title}".lower().replace(" ", "-"),
        title=title,
        artist=artist,
        image_path=Path("unused.jpg"),
    )


PEARL = _painting("Girl with a Pearl Earring", "Johannes Vermeer")


# -- archives written here --------------------------------------------------------------------------------


def test_written_archives_have_the_expected_indexes(built: dict[str, Built]) -> None:
    from libzim.reader import Archive

    for b in built.values():
        z = Archive(str(b.path))
        assert z.has_fulltext_index == b.fulltext
        assert z.has_title_index
        assert z.get_entry_by_path(b.prefix + "Vermeer").is_redirect


@pytest.mark.parametrize("name", ["plain", "a_paths", "no_index"])
def test_finds_vermeer_and_the_painting_with_sources(built: dict[str, Built], name: str) -> None:
    b = built[name]
    notes = ZimResearcher([b.path], max_facts=4).research(PEARL)

    assert notes.artist_facts, notes.searched
    assert notes.painting_facts, notes.searched
    for fact in notes.artist_facts:
        assert fact.source is not None
        assert fact.source.archive == b.path.name
        assert fact.source.path == b.prefix + "Johannes_Vermeer"
        assert fact.source.title == "Johannes Vermeer"
    for fact in notes.painting_facts:
        assert fact.source is not None
        assert fact.source.path == b.prefix + "Girl_with_a_Pearl_Earring"
    assert {s.path for s in notes.sources} == {
        b.prefix + "Johannes_Vermeer",
        b.prefix + "Girl_with_a_Pearl_Earring",
    }
    text = " ".join(f.text for f in notes.artist_facts)
    assert "Dutch Baroque painter" in text
    assert "1632" in text
    assert "Mauritshuis" in " ".join(f.text for f in notes.painting_facts)
    assert any("found 'Johannes Vermeer'" in line for line in notes.searched)


def test_facts_are_clean_lead_sentences(built: dict[str, Built]) -> None:
    notes = ZimResearcher([built["plain"].path], max_facts=10).research(PEARL)
    texts = [f.text for f in (*notes.artist_facts, *notes.painting_facts)]
    joined = " ".join(texts)
    for marker in ("SCRIPT", "HATNOTE", "INFOBOX", "SECTION", "REFERENCE", "[1]", "[2]", "color: red"):
        assert marker not in joined
    assert all(t.endswith((".", "!", "?")) for t in texts)
    assert "Nice." not in texts  # too short to be a fact
    assert any("dated around 1665" in t for t in texts)  # "c." did not split the sentence, and is said as a word
    assert len(notes.artist_facts) <= 10


def test_max_facts_is_respected(built: dict[str, Built]) -> None:
    notes = ZimResearcher([built["plain"].path], max_facts=1).research(PEARL)
    assert len(notes.artist_facts) == 1
    assert len(notes.painting_facts) == 1
    # the most memorable sentence wins, and says why
    assert notes.artist_facts[0].why and notes.artist_facts[0].language == "en"


def test_facts_stand_on_their_own(built: dict[str, Built]) -> None:
    """A sentence picked out of its paragraph gets its subject back: "He was born" -> "Vermeer was born"."""
    notes = ZimResearcher([built["plain"].path], max_facts=10).research(PEARL)
    texts = [f.text for f in notes.artist_facts]
    assert "Vermeer was born in Delft in 1632 and spent his whole life there." in texts
    assert not any(t.startswith(("He ", "It ")) for t in texts)
    assert any(f.text.startswith("The painting has been") for f in notes.painting_facts)


def test_redirect_is_followed(built: dict[str, Built]) -> None:
    for b in built.values():
        notes = ZimResearcher([b.path], max_facts=3).research(_painting("Some Unknown Work", "Vermeer"))
        assert notes.artist_facts, notes.searched
        source = notes.artist_facts[0].source
        assert source is not None
        assert source.path == b.prefix + "Johannes_Vermeer"  # the target, not the redirect


def test_missing_artist_invents_nothing(built: dict[str, Built]) -> None:
    paths = [b.path for b in built.values()]
    notes = ZimResearcher(paths, max_facts=4).research(
        _painting("The Courtyard of a House in Delft", "Pieter de Hooch")
    )
    assert notes.artist_facts == []
    assert notes.painting_facts == []
    assert notes.sources == []
    for p in paths:
        assert f"artist 'Pieter de Hooch' in {p.name}: no article" in "\n".join(notes.searched)
        assert f"painting 'The Courtyard of a House in Delft' in {p.name}: no article" in "\n".join(notes.searched)


def test_wrong_hits_are_rejected(built: dict[str, Built]) -> None:
    # "Johannes Brahms" and "Johannes Vermeer" share a first name, "Delft" is one word of the title
    notes = ZimResearcher([built["plain"].path], max_facts=4).research(
        _painting("View of Delft Harbour at Dawn", "Johannes Schmidt")
    )
    assert notes.artist_facts == []
    assert notes.painting_facts == []
    assert "no article" in notes.searched[0]


def test_title_suggestions_alone_work_without_fulltext_index(
    built: dict[str, Built], monkeypatch: pytest.MonkeyPatch
) -> None:
    import libzim.search

    def no_fulltext(*args: object, **kwargs: object) -> None:
        raise AssertionError("Searcher used on an archive without a full-text index")

    monkeypatch.setattr(libzim.search, "Searcher", no_fulltext)
    b = built["no_index"]
    notes = ZimResearcher([b.path], max_facts=4).research(PEARL)
    assert notes.artist_facts and notes.painting_facts
    assert any("via title suggestion" in line for line in notes.searched)
    missing = ZimResearcher([b.path], max_facts=4).research(_painting("Nothing Here", "Nobody Known"))
    assert "(no full-text index)" in missing.searched[0]


def test_fulltext_search_is_the_fallback(built: dict[str, Built]) -> None:
    # no title has the word "Jan": only the full-text index finds the article that mentions "Jan Vermeer"
    jan = _painting("Unknown Work", "Jan Vermeer")
    notes = ZimResearcher([built["plain"].path], max_facts=2).research(jan)
    assert notes.artist_facts, notes.searched
    assert "found 'Johannes Vermeer' (Johannes_Vermeer) via full-text search" in notes.searched[0]
    # without a full-text index, the same lookup finds nothing (and says why)
    notes = ZimResearcher([built["no_index"].path], max_facts=2).research(jan)
    assert notes.artist_facts == []
    assert notes.searched[0].endswith("no article (title suggestions (no full-text index))")


def test_results_are_cached_per_painting(built: dict[str, Built], monkeypatch: pytest.MonkeyPatch) -> None:
    researcher = ZimResearcher([built["plain"].path], max_facts=2)
    first = researcher.research(PEARL)
    calls: list[str] = []
    original = ZimResearcher._find_in

    def counting(self: ZimResearcher, *args: object) -> object:
        calls.append("x")
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(ZimResearcher, "_find_in", counting)
    first.artist_facts.clear()  # the caller's copy; the cache must not change
    second = researcher.research(PEARL)
    assert calls == []
    assert second.artist_facts
    assert researcher._archives[0].zim is researcher._archives[0].zim  # opened once


def test_protocol_and_flags(built: dict[str, Built]) -> None:
    researcher = ZimResearcher([built["plain"].path], max_facts=2)
    assert isinstance(researcher, Researcher)
    assert researcher.name == "libzim"
    assert researcher.degraded is False


# -- configuration errors --------------------------------------------------------------------------------


def test_no_zim_files_gives_empty_notes() -> None:
    notes = ZimResearcher([], max_facts=4).research(PEARL)
    assert notes.artist_facts == [] and notes.painting_facts == [] and notes.sources == []
    assert len(notes.searched) == 1
    assert "no ZIM files configured" in notes.searched[0]


def test_missing_zim_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.zim"
    with pytest.raises(ConfigError, match=re.escape("nowhere.zim")):
        ZimResearcher([missing], max_facts=4)


def test_garbage_zim_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.zim"
    bad.write_bytes(b"this is not a zim file" * 50)
    with pytest.raises(ConfigError, match=re.escape("garbage.zim")):
        ZimResearcher([bad], max_facts=4)


def test_truncated_zim_is_a_config_error(tmp_path: Path, shared_data: Path) -> None:
    data = (shared_data / "zim" / MINI_WIKI).read_bytes()
    cut = tmp_path / "truncated.zim"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigError, match=re.escape("truncated.zim")):
        ZimResearcher([cut], max_facts=4)


def test_directory_is_a_config_error(tmp_path: Path) -> None:
    folder = tmp_path / "a_folder.zim"
    folder.mkdir()
    with pytest.raises(ConfigError, match=re.escape("a_folder.zim")):
        ZimResearcher([folder], max_facts=4)


def test_one_bad_file_among_good_ones_is_named(tmp_path: Path, built: dict[str, Built]) -> None:
    bad = tmp_path / "broken.zim"
    bad.write_bytes(b"\0" * 4096)
    with pytest.raises(ConfigError, match=re.escape("broken.zim")):
        ZimResearcher([built["plain"].path, bad], max_facts=4)


# -- the real archives ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_researcher(shared_data: Path) -> ZimResearcher:
    zims = shared_data / "zim"
    return ZimResearcher([zims / MINI_WIKI, zims / WIKIBOOKS_BE], max_facts=4)


def test_real_portrait_of_george_iv_finds_george_iv(real_researcher: ZimResearcher) -> None:
    notes = real_researcher.research(_painting("Portrait of George IV", "Thomas Lawrence"))
    assert notes.artist_facts == []  # no article on Thomas Lawrence in the top 100
    assert "artist 'Thomas Lawrence' in wikipedia_en_100_mini_2022-10.zim: no article" in notes.searched[0]
    assert notes.painting_facts
    for fact in notes.painting_facts:
        assert fact.source is not None
        assert fact.source.archive == MINI_WIKI
        assert fact.source.path == "A/George_IV"
        assert fact.source.title == "George IV"
    assert notes.painting_facts[0].text.startswith("George IV")
    assert "1762" in notes.painting_facts[0].text


def test_real_painter_is_missing_and_nothing_is_invented(real_researcher: ZimResearcher) -> None:
    notes = real_researcher.research(_painting("Self-Portrait with Two Circles", "Rembrandt van Rijn"))
    assert notes.artist_facts == [] and notes.painting_facts == [] and notes.sources == []
    assert notes.searched[0] == (
        "artist 'Rembrandt van Rijn' in wikipedia_en_100_mini_2022-10.zim: no article "
        "(title suggestions, full-text search)"
    )
    assert len(notes.searched) == 4  # two lookups in two archives


def test_real_old_path_scheme_and_redirects(real_researcher: ZimResearcher) -> None:
    # "Shakespeare" is a redirect to A/William_Shakespeare in this archive
    notes = real_researcher.research(_painting("Portrait of Shakespeare", "John Taylor"))
    assert notes.painting_facts, notes.searched
    source = notes.painting_facts[0].source
    assert source is not None and source.path == "A/William_Shakespeare"
    assert any("1564" in f.text for f in notes.painting_facts)


def test_real_title_with_extra_words_finds_the_subject(real_researcher: ZimResearcher) -> None:
    """The issue's case: "Chandos portrait of William Shakespeare" found nothing though the article exists."""
    painting = _painting("Chandos portrait of William Shakespeare", "John Taylor").model_copy(update={"year": 1610})
    notes = real_researcher.research(painting)
    assert {f.source.path for f in notes.painting_facts if f.source} == {"A/William_Shakespeare"}
    log = "\n".join(notes.searched)
    assert "subject 'William Shakespeare' in wikipedia_en_100_mini_2022-10.zim: found 'William Shakespeare'" in log
    assert "the sitter: a person" in log
    # the playwright is not taken for the painter John Taylor, nor for the painting itself
    assert notes.artist_facts == []
    assert "rejected 'William Shakespeare' (A/William_Shakespeare): a person" in log


def test_real_writer_is_not_a_painter(real_researcher: ZimResearcher) -> None:
    notes = real_researcher.research(_painting("Untitled Sketch", "Shakespeare"))
    assert notes.artist_facts == []
    assert any("rejected 'William Shakespeare'" in line and "not a painter" in line for line in notes.searched)


def test_real_archive_without_fulltext_index(real_researcher: ZimResearcher) -> None:
    notes = real_researcher.research(_painting("Італьянская кухня", "Nobody Known"))
    assert notes.painting_facts
    source = notes.painting_facts[0].source
    assert source is not None
    assert source.archive == WIKIBOOKS_BE
    assert source.path == "Італьянская_кухня.html"
    assert any(WIKIBOOKS_BE in line and "title suggestion" in line for line in notes.searched)


# -- text helpers -----------------------------------------------------------------------------------------


def test_html_lead_paragraphs_skips_noise() -> None:
    paragraphs = html_lead_paragraphs(VERMEER_HTML)
    assert len(paragraphs) == 2
    assert paragraphs[0].startswith("Johannes Vermeer (also Jan Vermeer; October 1632")
    assert "[1]" not in paragraphs[0]


def test_html_without_paragraphs_falls_back_to_text() -> None:
    assert html_lead_paragraphs("<html><body><div>Just some text here.</div></body></html>") == ["Just some text here."]


def test_split_sentences_keeps_abbreviations() -> None:
    text = "It was painted c. 1665 by J. Vermeer. It hangs in St. Louis today! Does it? Yes."
    assert split_sentences(text) == [
        "It was painted c. 1665 by J. Vermeer.",
        "It hangs in St. Louis today!",
        "Does it?",
        "Yes.",
    ]


def test_normalize_removes_accents() -> None:
    assert zim_mod.normalize("Diego Velázquez_(painter)") == "diego velazquez painter"


# -- articles that collide: a painting, a song and an album of one title; a painter and namesakes -----------------

COLLIDING = {
    "Georgia_on_My_Mind": (
        "Georgia on My Mind",
        "<p><b>Georgia on My Mind</b> is a 1930 song written by Hoagy Carmichael and Stuart Gorrell. Ray Charles "
        "recorded it in 1960; he had lost his sight at the age of six.</p>",
    ),
    "Georgia_on_My_Mind_(album)": (
        "Georgia on My Mind (album)",
        "<p><i>Georgia on My Mind</i> is the fourth studio album by the jazz organist Shirley Scott, released "
        "in 1962 on the Prestige label.</p>",
    ),
    "Georgia_on_My_Mind_(painting)": (
        "Georgia on My Mind (painting)",
        "<p><i>Georgia on My Mind</i> is an oil painting on canvas by the American painter Ann Ruby, completed "
        "in 1931. The painting hangs in a museum in a large city in the south of the country. It was stolen in "
        "1970 and found ten years later in a barn, rolled up behind a tractor.</p>",
    ),
    "Ann_Ruby": (
        "Ann Ruby",
        "<p><b>Ann Ruby</b> (1890 &ndash; 1962) was an American painter of portraits and landscapes from "
        "Georgia. She was the first woman to show a painting at the state fair, in 1921.</p>",
    ),
    "Ann_Ruby_(footballer)": (
        "Ann Ruby (footballer)",
        "<p><b>Ann Ruby</b> (born 1988) is an American footballer who plays as a midfielder for a club in "
        "Atlanta since 2010.</p>",
    ),
    "Ann_Ruby_(sculptor)": (
        "Ann Ruby (sculptor)",
        "<p><b>Ann Ruby</b> (1702 &ndash; 1771) was an English sculptor of church monuments who worked in "
        "Bath for most of her life.</p>",
    ),
    "Mary_Ruby": (
        "Mary Ruby",
        "<p><b>Mary Ruby</b> (1850 &ndash; 1920) was a singer and the mother of the painter Ann Ruby; she "
        "posed for her daughter's first portrait in 1910.</p>",
    ),
}


@pytest.fixture(scope="module")
def colliding(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("colliding") / "colliding.zim"
    return write_zim(path, _body(COLLIDING), main="Ann_Ruby", title="Colliding titles")


GEORGIA = Painting(
    id=7, key="ruby_georgia", title="Georgia on My Mind", artist="Ann Ruby", year=1931, artist_died=1962,
    image_path=Path("unused.jpg"),
)  # fmt: skip


def test_painting_beats_the_song_and_the_album_of_its_title(colliding: Path) -> None:
    notes = ZimResearcher([colliding], max_facts=3).research(GEORGIA)
    assert {f.source.path for f in notes.painting_facts if f.source} == {"Georgia_on_My_Mind_(painting)"}
    log = "\n".join(notes.searched)
    assert "rejected 'Georgia on My Mind' (Georgia_on_My_Mind): a song" in log
    assert "rejected 'Georgia on My Mind (album)' (Georgia_on_My_Mind_(album)): a album" in log
    assert "found 'Georgia on My Mind (painting)'" in log and "a painting" in log
    assert notes.titles == {"en": "Georgia on My Mind"}
    # the theft beats the sentence about where it hangs
    assert any("stolen in 1970" in f.text and "a scandal" in f.why for f in notes.painting_facts)
    assert not any("hangs in a museum" in f.text for f in notes.painting_facts[:2])
    assert not any("song" in f.text for f in notes.painting_facts)


def test_the_painter_beats_namesakes(colliding: Path) -> None:
    notes = ZimResearcher([colliding], max_facts=3).research(GEORGIA)
    assert {f.source.path for f in notes.artist_facts if f.source} == {"Ann_Ruby"}
    log = "\n".join(notes.searched)
    assert "found 'Ann Ruby' (Ann_Ruby)" in log and "dates match" in log
    assert any("first woman" in f.text and "a first" in f.why for f in notes.artist_facts)


def test_namesakes_are_rejected_with_why(colliding: Path) -> None:
    """Without the painter's own article, the footballer and the sculptor of the same name are turned down."""
    later = GEORGIA.model_copy(update={"key": "ruby-2", "artist": "Ann Ruby", "artist_died": 1771, "year": 1760})
    notes = ZimResearcher([colliding], max_facts=3).research(later)
    log = "\n".join(notes.searched)
    assert {f.source.path for f in notes.artist_facts if f.source} == {"Ann_Ruby_(sculptor)"}
    assert "rejected 'Ann Ruby' (Ann_Ruby): a namesake: died 1962, the painter died 1771" in log
    unknown = GEORGIA.model_copy(update={"key": "ruby-3", "artist_died": None, "year": 1995})
    notes = ZimResearcher([colliding], max_facts=3).research(unknown)
    log = "\n".join(notes.searched)
    assert "rejected 'Ann Ruby (footballer)' (Ann_Ruby_(footballer)): a person (footballer)" in log
    assert all(f.source and f.source.path != "Ann_Ruby_(footballer)" for f in notes.artist_facts)


def test_kinds_from_the_lead() -> None:
    from vivant.backends.zim import classify

    assert classify(COLLIDING["Georgia_on_My_Mind"][1]).kind == "song"
    assert classify(COLLIDING["Georgia_on_My_Mind_(album)"][1]).kind == "album"
    painting = classify(COLLIDING["Georgia_on_My_Mind_(painting)"][1])
    assert painting.kind == "painting" and "oil painting" in painting.evidence
    ann = classify(COLLIDING["Ann_Ruby"][1])
    assert (ann.kind, ann.job, ann.born, ann.died, ann.is_artist) == ("person", "painter", 1890, 1962, True)
    assert classify("<p>Delft is a city in the province of South Holland.</p>").kind == "place"
    assert classify("<p>Le Bacchus est un tableau du peintre italien Caravage, peint vers 1596.</p>").kind == "painting"
    assert classify("<p><i>Vertigo</i> is a 1958 American film directed by Alfred Hitchcock.</p>").kind == "film"


def test_portrait_subjects_and_title_variants() -> None:
    from vivant.backends.zim import portrait_subject, title_variants

    assert portrait_subject("Portrait of Louis XIV (detail crop)") == "Louis XIV"
    assert portrait_subject("Chandos portrait of William Shakespeare") == "William Shakespeare"
    assert portrait_subject("Madame Cézanne in Blue") == "Madame Cézanne"
    assert portrait_subject("Girl with a Pearl Earring") is None
    variants = title_variants("The Chandos portrait of William Shakespeare")
    assert variants[0] == "The Chandos portrait of William Shakespeare"
    assert "Chandos portrait of William Shakespeare" in variants and "William Shakespeare" in variants
    assert "Madame Cézanne" in title_variants("Madame Cézanne in Blue")


# -- a French archive: French titles, names and facts ---------------------------------------------------------------

FRENCH = {
    "Léonard_de_Vinci": (
        "Léonard de Vinci",
        "<p><b>Léonard de Vinci</b> (15 avril 1452 &ndash; 2 mai 1519) est un peintre italien et un homme "
        "d'esprit universel, à la fois artiste, organisateur de spectacles et ingénieur.</p><p>Il est le premier "
        "à dessiner un hélicoptère, vers 1487, bien avant les avions.</p>",
    ),
    "La_Joconde": (
        "La Joconde",
        "<p><i>La Joconde</i> est un tableau de Léonard de Vinci, peint entre 1503 et 1519. Le tableau fut volé "
        "au Louvre en 1911 et retrouvé deux ans plus tard à Florence.</p>",
    ),
}


@pytest.fixture(scope="module")
def french_zim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fr") / "wikipedia_fr_test.zim"
    return write_zim(
        path,
        _body(FRENCH),
        main="La_Joconde",
        language="fra",
        title="Test français",
        redirects=(("Leonardo_da_Vinci", "Leonardo da Vinci", "Léonard_de_Vinci"),),
    )


def test_a_french_archive_gives_french_titles_names_and_facts(french_zim: Path, built: dict[str, Built]) -> None:
    from vivant.backends.local.writer import TemplateWriter

    mona = Painting(
        id=3, key="mona", title="Mona Lisa", artist="Leonardo da Vinci", year=1503, artist_died=1519,
        title_fr="La Joconde", image_path=Path("unused.jpg"),
    )  # fmt: skip
    notes = ZimResearcher([built["plain"].path, french_zim], max_facts=3).research(mona)
    assert notes.titles == {"fr": "La Joconde"}
    assert notes.artist_names == {"fr": "Léonard de Vinci"}
    french = [f for f in (*notes.painting_facts, *notes.artist_facts) if f.language == "fr"]
    assert {f.source.archive for f in french if f.source} == {"wikipedia_fr_test.zim"}
    assert any("volé au Louvre en 1911" in f.text for f in french)
    assert any(f.text.startswith("De Vinci est le premier à dessiner un hélicoptère, vers 1487") for f in french)
    script = TemplateWriter().write(mona, notes, "fr")
    assert "Léonard de Vinci" in script.script and "Leonardo" not in script.script
    assert "La Joconde" in script.script or "J'ai été volé" in script.script or "volé au Louvre" in script.script
    assert script.sources and all(s.archive == "wikipedia_fr_test.zim" for s in script.sources)
    english = TemplateWriter().write(mona, notes, "en")
    assert "Leonardo da Vinci" in english.script and "Louvre" not in english.script


def test_the_most_memorable_sentences_win_and_are_said_well() -> None:
    """The issue's case: a singer losing his sight at six was not picked; "R&B" was said "R B"."""
    from vivant.backends.zim import pick_sentences

    lead = [
        "Hank Crawford was an American alto saxophonist, arranger and songwriter from Memphis, Tennessee. "
        "He played in a band in the city and later in another band in the same city. "
        "He was the musical director for Ray Charles, who had lost his sight at the age of six. "
        "His style mixed R&B, soul and jazz on more than 20 albums for other players to copy.",
    ]
    picked = pick_sentences(lead, 2, ["hank", "crawford"], name="Crawford", possessive="Crawford's")
    texts = [p.text for p in picked]
    assert any("lost his sight at the age of six" in t for t in texts), texts
    assert not any("played in a band" in t for t in texts)
    assert all(p.why for p in picked)
    everything = pick_sentences(lead, 4, ["hank", "crawford"], name="Crawford", possessive="Crawford's")
    assert "Crawford's style mixed R and B, soul and jazz" in " ".join(p.text for p in everything)
    assert not any("played in a band" in p.text for p in everything)  # nothing worth saying: left out
