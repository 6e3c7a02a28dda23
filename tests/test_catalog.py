"""The catalog: imports (CSV, WikiArt, JSON, folder), the public-domain filter, and the draw."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from vivant.catalog import (
    MISSING_TITLE,
    NOT_PD,
    UNKNOWN_DATES,
    ColumnMap,
    ImportReport,
    draw,
    humanize,
    import_catalog,
    parse_year,
    slug_key,
    split_wikiart_slug,
    stats,
)
from vivant.config import CatalogSettings
from vivant.errors import CatalogError
from vivant.store import NewPainting, Store

SETTINGS = CatalogSettings()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "vivant.db") as s:
        yield s


def write(path: Path, text: str, *, encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


# -- helpers ----------------------------------------------------------------------------------------------------------
def test_parse_year() -> None:
    assert parse_year("c. 1866") == 1866
    assert parse_year("ca.1650") == 1650
    assert parse_year("1503–1506") == 1503
    assert parse_year("1860s") == 1860
    assert parse_year(1900) == 1900
    assert parse_year("") is None
    assert parse_year(None) is None
    with pytest.raises(ValueError):
        parse_year("eighteenth century")


def test_wikiart_slugs() -> None:
    assert split_wikiart_slug("the-magpie-1869") == ("The Magpie", 1869)
    assert split_wikiart_slug("kvitebj-rn-kong-valemon-1912-2") == ("Kvitebj Rn Kong Valemon", 1912)
    assert split_wikiart_slug("ears-of-wheat-1890(1)") == ("Ears of Wheat", 1890)
    assert split_wikiart_slug("portrait-of-the-artist-s-mother") == ("Portrait of the Artist's Mother", None)
    assert split_wikiart_slug("not_detected_240343") == ("Untitled", None)
    assert humanize("vincent-van-gogh", name=True) == "Vincent van Gogh"
    assert humanize("james-mcneill-whistler", name=True) == "James McNeill Whistler"
    assert humanize("portrait-of-louis-xiv") == "Portrait of Louis XIV"
    assert slug_key("Baroque/x(1).jpg") != slug_key("Baroque/x-1.jpg")
    assert slug_key("paintings/Mona Lisa.JPG") == "paintings/mona-lisa"


# -- the shared CSV catalog -------------------------------------------------------------------------------------------
def test_shared_catalog_csv(store: Store, paintings_dir: Path) -> None:
    report = import_catalog(store, paintings_dir / "catalog.csv", SETTINGS)
    assert (report.fmt, report.read, report.kept, report.dropped) == ("csv", 18, 18, 0)
    assert (report.inserted, report.updated) == (18, 0)
    assert report.portraits == 13  # only kind=portrait counts; multi/landscape/blurry stay in the catalog
    head = store.find_painting("cezanne_head-of-an-old-man")
    assert head.year == 1866  # "c. 1866"
    assert (head.artist, head.artist_died, head.genre, head.is_portrait) == ("Paul Cézanne", 1906, "portrait", True)
    assert Path(head.image_path).is_absolute() and Path(head.image_path).is_file()
    night = store.find_painting("The Night Watch")
    assert (night.genre, night.is_portrait) == ("multi", False)
    figures = stats(store)
    assert figures["paintings"] == 18 and figures["portraits"] == 13 and figures["unused_portraits"] == 13
    assert figures["genres"] == {"portrait": 13, "multi": 3, "landscape": 1, "blurry": 1}
    assert any("kept 18" in line for line in report.lines())

    again = import_catalog(store, paintings_dir / "catalog.csv", SETTINGS)
    assert (again.inserted, again.updated) == (0, 18)
    assert stats(store)["paintings"] == 18


def test_images_dir_setting(store: Store, paintings_dir: Path, tmp_path: Path) -> None:
    settings = CatalogSettings(images_dir=tmp_path / "elsewhere")
    import_catalog(store, paintings_dir / "catalog.csv", settings)
    row = store.find_painting("vermeer_the-milkmaid")
    assert row.image_path == str(tmp_path / "elsewhere" / "vermeer_the-milkmaid.jpg")


# -- WikiArt ----------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wikiart(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, ImportReport]]:
    folder = shared_data / "catalog" / "wikiart_artgan"
    with Store.open(tmp_path_factory.mktemp("wikiart") / "vivant.db") as s:
        train = import_catalog(s, folder / "genre_train.csv", SETTINGS)
        val = import_catalog(s, folder / "genre_val.csv", SETTINGS)
        train.merge(val)
        yield s, train


def test_wikiart_genre_lists(wikiart: tuple[Store, ImportReport]) -> None:
    store, report = wikiart
    assert report.fmt == "wikiart"
    assert report.read == 64_995
    assert report.portraits_read == 14_113  # genre 6 = portrait, before the public-domain filter
    assert report.kept + report.dropped == report.read
    assert report.dropped_by_reason[NOT_PD] > 10_000
    assert report.dropped_by_reason[UNKNOWN_DATES] > 5_000
    assert 8_000 < report.portraits < 14_113
    assert report.inserted == report.kept and report.updated == 0
    figures = stats(store)
    assert figures["paintings"] == report.kept and figures["portraits"] == report.portraits

    magpie = store.find_painting("impressionism/claude-monet_the-magpie-1869")
    assert (magpie.title, magpie.artist, magpie.year, magpie.style) == (
        "The Magpie",
        "Claude Monet",
        1869,
        "Impressionism",
    )
    assert (magpie.genre, magpie.artist_died, magpie.is_portrait) == ("landscape", 1926, False)
    sorolla = store.find_painting("impressionism/joaqua-n-sorolla_mending-the-sail-1896")
    assert sorolla.artist == "Joaquín Sorolla" and sorolla.artist_died == 1923

    assert figures["top_artists"].get("Pierre Auguste Renoir", 0) > 400
    assert "Pablo Picasso" not in figures["top_artists"]
    assert "Amedeo Modigliani" in {p.artist for p in _portraits_by(store, "amedeo-modigliani")}
    assert not _portraits_by(store, "pablo-picasso")


def _portraits_by(store: Store, artist_slug: str) -> list[object]:
    return [
        store.painting(pid) for pid, path in store.portrait_candidates(include_used=True) if f"/{artist_slug}_" in path
    ]


def test_wikiart_folder_and_parsed_list_update(store: Store, shared_data: Path) -> None:
    """A folder import of the WikiArt lists, then the derived portrait list: same keys, so updates."""
    parsed = shared_data / "catalog" / "wikiart_portraits_parsed.csv"
    first = import_catalog(store, parsed, SETTINGS)
    assert (first.fmt, first.read, first.portraits_read) == ("wikiart", 14_113, 14_113)
    second = import_catalog(store, parsed, SETTINGS, fmt="wikiart")
    assert (second.inserted, second.updated) == (0, first.kept)


def test_wikiart_format_refuses_other_csv(store: Store, paintings_dir: Path) -> None:
    with pytest.raises(CatalogError, match="not a WikiArt list"):
        import_catalog(store, paintings_dir / "catalog.csv", SETTINGS, fmt="wikiart")


def test_wikiart_builtin_genres_and_portrait_list(store: Store, tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    write(
        lists / "genre_x.csv",
        "Realism/ilya-repin_portrait-of-a-man-1870.jpg,6\nRealism/ilya-repin_a-field-1871.jpg,4\n"
        "Cubism/pablo-picasso_a-woman-1910.jpg,6\n",
        newline="\r\n",
    )
    report = import_catalog(store, lists, SETTINGS)  # a folder without images: its catalog files
    assert (report.read, report.kept, report.portraits) == (3, 2, 1)
    assert any("built-in ArtGAN genre names" in n for n in report.notes)
    assert report.examples[NOT_PD] == ["Pablo Picasso (died 1973)"]

    portraits = write(tmp_path / "portraits.txt", "Realism/ilya-repin_a-field-1871.jpg\n")
    listed = import_catalog(store, lists / "genre_x.csv", SETTINGS, portraits_file=portraits)
    assert listed.portraits == 1 and listed.updated == 2
    assert store.find_painting("realism/ilya-repin_a-field-1871").is_portrait
    assert not store.find_painting("realism/ilya-repin_portrait-of-a-man-1870").is_portrait


# -- generic CSV: errors and options ----------------------------------------------------------------------------------
def test_csv_missing_title_column(store: Store, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.csv", "file,artist,year\na.jpg,Someone,1800\n")
    with pytest.raises(CatalogError) as e:
        import_catalog(store, bad, SETTINGS)
    message = str(e.value)
    assert "bad.csv" in message and "title" in message and "'file', 'artist', 'year'" in message


def test_csv_bom_crlf_semicolon_and_column_map(store: Store, tmp_path: Path) -> None:
    text = (
        "Bild;Name;Maler;Datum;Gattung;Tod\n"
        "a.jpg;Bildnis einer Frau;Hans Maler;1520;portrait;1529\n"
        "b.jpg;;Hans Maler;1521;portrait;1529\n"
        "c.jpg;Landschaft;Hans Maler;um 1522;landscape;1529\n"
        "a.jpg;Bildnis (copy);Hans Maler;1520;portrait;1529\n"
        "d.jpg;Bildnis;Hans Maler;unbekannt;portrait;1529\n"
    )
    path = write(tmp_path / "de.csv", "\ufeff" + text, newline="\r\n")
    cmap = ColumnMap.from_pairs(
        ["image=Bild", "title=Name", "artist=Maler", "year=Datum", "genre=Gattung", "artist_died=Tod"]
    )
    report = import_catalog(store, path, SETTINGS, columns=cmap)
    assert (report.read, report.kept, report.portraits) == (5, 2, 1)
    assert report.dropped_by_reason == {MISSING_TITLE: 1, "duplicate key": 1, "bad year": 1}
    assert store.find_painting("c").year == 1522

    with pytest.raises(CatalogError, match=r"artist_died \(column 'Death'\)"):
        import_catalog(store, path, SETTINGS, columns=ColumnMap(image="Bild", title="Name", artist="Maler",
                                                                artist_died="Death"))  # fmt: skip
    with pytest.raises(CatalogError, match="FIELD=COLUMN"):
        ColumnMap.from_pairs(["painter=Maler"])


def test_public_domain_filter(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path / "pd.csv",
        "file,title,artist,year,genre,artist_died\n"
        "picasso.jpg,Portrait of Dora Maar,Pablo Picasso,1937,portrait,\n"
        "modigliani.jpg,Jeanne Hébuterne,Amedeo Modigliani,1918,portrait,\n"
        "old.jpg,Old Portrait,Nobody Known,1850,portrait,\n"
        "new.jpg,New Portrait,Nobody Known,1900,portrait,\n"
        "late.jpg,Late Portrait,Someone,1950,portrait,1960\n"
        "nodate.jpg,Undated Portrait,Nobody Known,,portrait,\n"
        "jane.jpg,Jane's Portrait,Jane Doe,1930,portrait,\n",
    )
    report = import_catalog(store, path, SETTINGS)
    kept = {p.title for p in map(store.painting, (pid for pid, _ in store.portrait_candidates()))}
    assert kept == {"Jeanne Hébuterne", "Old Portrait"}
    assert report.dropped_by_reason == {NOT_PD: 4, UNKNOWN_DATES: 1}
    assert "Pablo Picasso (died 1973)" in report.examples[NOT_PD]
    assert store.find_painting("modigliani").artist_died == 1920  # from the built-in table

    deaths = write(tmp_path / "deaths.csv", "artist,died\nJane Doe,1940\n")
    again = import_catalog(store, path, SETTINGS, keep_unknown_dates=True, artist_deaths=deaths)
    assert again.dropped_by_reason == {NOT_PD: 3}
    assert store.find_painting("nodate").year is None
    assert store.find_painting("jane").artist_died == 1940


def test_json_import(store: Store, tmp_path: Path, paintings_dir: Path) -> None:
    rows = [
        {"image": str(paintings_dir / "vermeer_the-milkmaid.jpg"), "title": "The Milkmaid",
         "artist": "Johannes Vermeer", "date": "c. 1660", "genre": "portrait", "tags": ["kitchen", "bread"],
         "description": "A maid pours milk."},
        {"image": "missing.jpg", "title": "Lost", "artist": "Someone", "year": 1700, "kind": "landscape",
         "key": "lost-one"},
    ]  # fmt: skip
    path = tmp_path / "list.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    report = import_catalog(store, path, SETTINGS)
    assert (report.fmt, report.read, report.kept, report.portraits) == ("json", 2, 2, 1)
    milkmaid = store.find_painting("The Milkmaid")
    assert milkmaid.tags == ("kitchen", "bread") and milkmaid.year == 1660 and milkmaid.artist_died == 1675
    lost = store.find_painting("lost-one")
    assert lost.image_path == str(tmp_path / "missing.jpg") and not lost.is_portrait

    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"paintings": rows}), encoding="utf-8")
    assert import_catalog(store, wrapped, SETTINGS).updated == 2
    broken = write(tmp_path / "broken.json", '[{"title": ')
    with pytest.raises(CatalogError, match=r"broken\.json: not valid JSON"):
        import_catalog(store, broken, SETTINGS)


def test_folder_import_with_sidecar(store: Store, tmp_path: Path, paintings_dir: Path) -> None:
    folder = tmp_path / "pics"
    folder.mkdir()
    shutil.copy(paintings_dir / "vermeer_girl-with-a-pearl-earring.jpg", folder / "pearl.jpg")
    shutil.copy(paintings_dir / "rossetti_proserpine.jpg", folder / "proserpine.jpg")
    shutil.copy(paintings_dir / "van-gogh_the-starry-night.jpg", folder / "night.png")
    (folder / "pearl.json").write_text(
        json.dumps({"title": "Girl with a Pearl Earring", "artist": "Johannes Vermeer", "year": 1665,
                    "artist_died": 1675, "genre": "portrait", "tags": "tronie; pearl"}), encoding="utf-8",
    )  # fmt: skip
    (folder / "night.json").write_text(
        json.dumps({"title": "Starry", "painter": "Vincent van Gogh", "kind": "landscape"})
    )
    report = import_catalog(store, folder, SETTINGS)
    assert report.fmt == "folder"
    assert (report.read, report.kept, report.portraits) == (3, 2, 1)
    assert report.dropped_by_reason == {UNKNOWN_DATES: 1}  # proserpine.jpg: no sidecar, no dates
    pearl = store.find_painting("pearl")
    assert (pearl.title, pearl.year, pearl.is_portrait, pearl.tags) == (
        "Girl with a Pearl Earring", 1665, True, ("tronie", "pearl"))  # fmt: skip
    assert pearl.image_path == str(folder / "pearl.jpg")
    assert not store.find_painting("night").is_portrait

    kept = import_catalog(store, folder, SETTINGS, keep_unknown_dates=True)
    assert kept.kept == 3 and kept.inserted == 1
    proserpine = store.find_painting("proserpine")
    assert (proserpine.title, proserpine.artist, proserpine.is_portrait) == ("Proserpine", "Unknown", True)
    assert any("assumed to be portraits" in n for n in kept.notes)


def test_folder_with_catalog_csv_imports_through_it(store: Store, paintings_dir: Path) -> None:
    for fmt in (None, "folder"):
        report = import_catalog(store, paintings_dir, SETTINGS, fmt=fmt)  # type: ignore[arg-type]
        assert (report.fmt, report.kept, report.portraits) == ("csv", 18, 13)
        assert any("catalog.csv" in n for n in report.notes)
    mona = store.find_painting("leonardo_mona-lisa")
    assert (mona.artist, mona.year) == ("Leonardo da Vinci", 1503)
    assert stats(store)["paintings"] == 18


def test_folder_with_catalog_json_and_images(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "pics"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        (folder / name).write_bytes(b"\xff\xd8 not really")
    rows = [{"file": n, "title": f"Title {n}", "artist": "Hans Maler", "year": 1520, "artist_died": 1529}
            for n in ("a.jpg", "b.jpg")]  # fmt: skip
    (folder / "catalog.json").write_text(json.dumps(rows), encoding="utf-8")
    report = import_catalog(store, folder, SETTINGS)
    assert (report.fmt, report.kept) == ("json", 2)
    assert store.find_painting("a").title == "Title a.jpg"


def test_keys_are_short_stems_never_whole_paths(store: Store, tmp_path: Path) -> None:
    """Absolute paths in a CSV give the file stem as key; namesakes in other folders are told apart."""
    rows = [
        "/home/me/pictures/portraits/Mona Lisa.jpg",
        "/home/me/pictures/sketches/Mona Lisa.jpg",
        "/home/me/pictures/old/sketches/Mona Lisa.jpg",
        "/home/me/pictures/portraits/Mona Lisa.jpg",  # the same image twice: a duplicate
        "relative/dir/Lady Lilith.png",
    ]
    text = "file,title,artist,year,artist_died\n" + "".join(f"{p},T{i},A,1500,1519\n" for i, p in enumerate(rows))
    path = write(tmp_path / "abs.csv", text)
    report = import_catalog(store, path, SETTINGS)
    assert (report.kept, report.dropped_by_reason) == (4, {"duplicate key": 1})
    keys = {store.find_painting(f"T{i}").key for i in (0, 1, 2, 4)}
    assert keys == {"mona-lisa", "sketches-mona-lisa", "mona-lisa-2", "lady-lilith"}
    again = import_catalog(store, path, SETTINGS)  # stable: the same keys, so updates
    assert (again.inserted, again.updated) == (0, 4)


def test_missing_path(store: Store, tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no such catalog"):
        import_catalog(store, tmp_path / "nope.csv", SETTINGS)


# -- draw -------------------------------------------------------------------------------------------------------------
@pytest.fixture
def drawable(store: Store, paintings_dir: Path) -> Store:
    """13 portraits with images, plus 40 portraits whose image file is missing."""
    import_catalog(store, paintings_dir / "catalog.csv", SETTINGS)
    ghosts = [
        NewPainting(key=f"ghost-{i}", title=f"Ghost {i}", artist="Nobody", image_path=f"/nonexistent/ghost-{i}.jpg",
                    is_portrait=True)
        for i in range(40)
    ]  # fmt: skip
    store.add_paintings(ghosts)
    return store


def test_draw_reproducible_and_skips_missing(drawable: Store) -> None:
    a = draw(drawable, 5, seed=7)
    assert a == draw(drawable, 5, seed=7)
    assert len(a) == 5 and len(set(a)) == 5
    assert any(draw(drawable, 5, seed=s) != a for s in range(8, 12))
    assert draw(drawable, 8, seed=7)[:5] == a  # one seeded shuffle: a longer draw extends a shorter one
    for pid in a:
        p = drawable.painting(pid)
        assert p.is_portrait and Path(p.image_path).is_file()


def test_draw_skips_used_unless_asked(drawable: Store) -> None:
    first = draw(drawable, 6, seed=1)
    drawable.create_batch(first, languages=["fr"], seed=1)
    rest = draw(drawable, 13, seed=2)
    assert len(rest) == 7 and not set(rest) & set(first)
    everything = draw(drawable, 13, seed=2, include_used=True)
    assert len(everything) == 13 and set(first) <= set(everything)
    assert stats(drawable)["used"] == 6


def test_draw_exhausted_warns(drawable: Store, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="vivant.catalog"):
        got = draw(drawable, 20, seed=3)
    assert len(got) == 13
    assert "only 13 available" in caplog.text
    assert draw(drawable, 0, seed=3) == []


def test_draw_large_catalog_without_images(wikiart: tuple[Store, ImportReport]) -> None:
    store, report = wikiart
    assert draw(store, 20, seed=1) == []  # the WikiArt images are not here: every candidate is skipped
    assert report.portraits > 0


def test_title_fr_and_gender_columns_are_imported(tmp_path: Path) -> None:
    from vivant.catalog import parse_gender

    assert [parse_gender(v) for v in ("F", "female", "Homme", "", None, "both")] == [
        "female", "female", "male", None, None, None,
    ]  # fmt: skip
    img = tmp_path / "a.png"
    img.write_bytes(b"x")
    csv_path = tmp_path / "list.csv"
    csv_path.write_text(
        "file,title,artist,year,artist_died,titre,gender\n"
        "a.png,The Blue Lady,Jane Doe,1850,1900,La Dame en bleu,woman\n",
        encoding="utf-8",
    )
    with Store.open(tmp_path / "v.db") as store:
        import_catalog(store, csv_path, CatalogSettings())
        row = store.find_painting("The Blue Lady")
    assert (row.title_fr, row.gender) == ("La Dame en bleu", "female")


def test_the_death_year_table_is_package_data_read_whole() -> None:
    from importlib import resources

    from vivant.catalog import ARTIST_DEATHS

    lines = resources.files("vivant").joinpath("data", "artist_deaths.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "artist,death_year" and len(ARTIST_DEATHS) == len(lines) - 1
    assert ARTIST_DEATHS["rembrandt"] == 1669 and ARTIST_DEATHS["pablo-picasso"] == 1973
    assert ARTIST_DEATHS["pierre-paul-prud'hon"] == 1823 and ARTIST_DEATHS["marevna-(marie-vorobieff)"] == 1984
