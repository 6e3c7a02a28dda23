"""The demo: sample download from a Wikimedia-Commons-like server on loopback, then a real full-size night."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from typer.testing import CliRunner

from vivant import demo
from vivant.backends.ffmpeg import probe
from vivant.cli import app
from vivant.errors import VivantError

runner = CliRunner()


class Commons:
    """Serves ``/wiki/Special:FilePath/<name>`` as a redirect to ``/files/<name>``, like Commons does."""

    def __init__(self, images: dict[str, bytes]) -> None:
        self.images = images
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.requests.append(self.path)
                path = urlparse(self.path).path
                if path.startswith("/wiki/Special:FilePath/"):
                    name = unquote(path.rsplit("/", 1)[1])
                    self.send_response(302)
                    self.send_header("Location", f"/files/{name}")
                    self.end_headers()
                    return
                name = unquote(path.rsplit("/", 1)[1])
                if path.startswith("/files/") and name in outer.images:
                    body = outer.images[name]
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(404)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(b"<h1>No such file</h1>")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/wiki/Special:FilePath/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def commons(paintings_dir: Path) -> Iterator[Commons]:
    images = {s.commons_name: (paintings_dir / s.file).read_bytes() for s in demo.SAMPLES}
    server = Commons(images)
    yield server
    server.close()


def test_download_once_into_the_cache(commons: Commons, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    got = demo.download_samples(cache, base_url=commons.url)
    assert got == cache
    for s in demo.SAMPLES:
        assert (cache / s.file).stat().st_size > 1000
    assert "vermeer_girl-with-a-pearl-earring.jpg,Girl with a Pearl Earring" in (cache / "catalog.csv").read_text()
    first = len(commons.requests)
    assert first == 2 * len(demo.SAMPLES)  # redirect + file each
    demo.download_samples(cache, base_url=commons.url)
    assert len(commons.requests) == first, "files already in the cache were downloaded again"


def test_download_error_names_the_file(commons: Commons, tmp_path: Path) -> None:
    commons.images.pop(demo.SAMPLES[1].commons_name)
    with pytest.raises(VivantError, match=demo.SAMPLES[1].commons_name.split(",")[0]):
        demo.download_samples(tmp_path / "cache", base_url=commons.url)
    assert not list((tmp_path / "cache").glob("*.part"))


@pytest.mark.slow
def test_demo_from_downloaded_samples_makes_real_shorts(
    commons: Commons, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "project_shared_paintings", lambda: None)
    monkeypatch.setenv("VIVANT_CACHE", str(tmp_path / "cache"))
    ws = tmp_path / "demo-ws"
    args = ["demo", "--workspace", str(ws), "--count", "1", "--langs", "en", "--samples-url", commons.url]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "videos:" in result.output
    videos = sorted((ws / "pool").glob("*.mp4"))
    assert len(videos) == 1
    info = probe(videos[0])
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (1080, 1920, "h264", "aac")
    assert 15 <= info.duration <= 90
    assert videos[0].with_suffix(".jpg").stat().st_size > 10_000
    status = json.loads(runner.invoke(app, ["status", "--config", str(ws / "vivant.toml"), "--json"]).output)
    by_state: dict[str, list[dict[str, str]]] = {}
    for item in status["items"]:
        by_state.setdefault(item["state"], []).append(item)
    assert len(by_state["COMPLETE"]) == 1
    aborted = {i["painting"]: i["reason"] for i in by_state["ABORTED"]}
    assert set(aborted) == {"rembrandt_the-night-watch", "van-gogh_the-starry-night"}
    assert all(reason.startswith("step 0 prepare: ") for reason in aborted.values())


def test_demo_configures_the_zim_archives_beside_its_samples(
    paintings_dir: Path, tmp_path: Path, shared_data: Path
) -> None:
    """Issue 17 item 6: `vivant demo` researches in the archives of ../shared/data/zim (beside the samples)."""
    zims = demo.sample_zims(paintings_dir)
    assert [z.name for z in zims] == ["wikibooks_be_all_nopic_2017-02.zim", "wikipedia_en_100_mini_2022-10.zim"]
    ws = tmp_path / "demo-zim"
    result = runner.invoke(app, ["demo", "--workspace", str(ws), "--count", "0", "--langs", "en"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # rich wraps long lines
    assert "research in wikibooks_be_all_nopic_2017-02.zim, wikipedia_en_100_mini_2022-10.zim" in said
    from vivant import config

    settings = config.load(ws / "vivant.toml")
    assert [p.name for p in settings.research.zim_files] == [z.name for z in zims]
    assert demo.sample_zims(tmp_path) == []


@pytest.mark.parametrize("seed", [7, 1, 2026])
def test_the_demo_picks_famous_women_and_men_and_the_two_refusals(tmp_path: Path, paintings_dir: Path,
                                                                  seed: int) -> None:  # fmt: skip
    from vivant import catalog, config
    from vivant.store import Store

    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    settings = config.load(tmp_path / "vivant.toml")
    with Store.open(settings.database) as store:
        catalog.import_catalog(store, paintings_dir / "catalog.csv", settings.catalog, fmt="csv",
                               columns=catalog.ColumnMap(genre="kind"))  # fmt: skip
        rows = [(pid, genre, store.painting(pid).key) for pid, genre in store.painting_genres()]
        keys = [store.painting(pid).key for pid in demo.choose(rows, portraits=4, seed=seed)]
    sitters = dict(demo.FEATURED)
    portraits, refused = keys[:4], keys[4:]
    assert all(k in sitters for k in portraits), portraits
    assert sorted(sitters[k] for k in portraits) == ["female", "female", "male", "male"]
    assert len(set(portraits)) == 4
    genres = {k: g for _, g, k in rows}
    assert sorted(genres[k] for k in refused) == ["landscape", "multi"]


def test_make_demo_installs_the_package_without_the_test_extras(tmp_path: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    root = Path(__file__).resolve().parents[1]

    def dry(target: str) -> str:
        out = subprocess.run(["make", "-n", target, f"VENV={tmp_path / 'venv'}"], cwd=root, capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
        return "\n".join(line for line in out.splitlines() if "pip install" in line)

    demo_installs, test_installs = dry("demo"), dry("test")
    assert "-e ." in demo_installs and "[dev]" not in demo_installs and "llama" not in demo_installs
    assert "-e '.[dev]'" in test_installs
