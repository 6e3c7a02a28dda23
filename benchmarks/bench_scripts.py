"""Benchmark of step 1 on the sample portraits: research in the ZIM archives, then the template writer.

    .venv/bin/python benchmarks/bench_scripts.py [--data ../shared/data] [--zim FILE ...] [--show N] [--night 0001]

The 13 portraits of ``paintings/catalog.csv`` are written as one night (each painting's place in it, as step 1
does), in French and English. Prints, per language: distinct openings and closings, facts per script (researched
facts that made it into the script), words per script (min / median / max), and the time per script; then what
research found per painting, and ``--show`` sample scripts.
"""

from __future__ import annotations

import argparse
import csv
import logging
import re
import statistics
import sys
import time
from pathlib import Path

from vivant.backends.local.writer import TemplateWriter, closing_of, night_slot
from vivant.backends.zim import ZimResearcher
from vivant.languages import LANGUAGES
from vivant.roles import Language, Painting, ResearchNotes, Script

ROOT = Path(__file__).resolve().parents[1]


def portraits(data: Path) -> list[Painting]:
    folder = data / "paintings"
    with (folder / "catalog.csv").open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["kind"] == "portrait"]
    out = []
    for i, r in enumerate(rows):
        year = re.search(r"\d{4}", r["year"])
        died = re.search(r"\d{4}", r.get("artist_died") or "")
        out.append(Painting(
            id=i, key=Path(r["file"]).stem, title=r["title"], artist=r["artist"],
            year=int(year.group()) if year else None, artist_died=int(died.group()) if died else None,
            genre="portrait", image_path=folder / r["file"], title_fr=(r.get("title_fr") or None),
            gender=(r.get("gender") or None),  # type: ignore[arg-type]
        ))  # fmt: skip
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--zim", type=Path, nargs="*", help="ZIM archives (default: DATA/zim/*.zim)")
    ap.add_argument("--show", type=int, default=2, help="sample scripts to print per language")
    ap.add_argument("--night", default="0001", help="the night's name (rotates the phrase banks)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    zims = args.zim if args.zim is not None else sorted((args.data / "zim").glob("*.zim"))
    paintings = portraits(args.data)
    researcher = ZimResearcher(zims, max_facts=4)
    writer = TemplateWriter()

    start = time.perf_counter()
    notes: dict[str, ResearchNotes] = {p.key: researcher.research(p) for p in paintings}
    research_s = time.perf_counter() - start
    scripts: dict[Language, list[Script]] = {}
    write_s: dict[Language, float] = {}
    for lang in LANGUAGES:
        start = time.perf_counter()
        scripts[lang] = []
        for position, p in enumerate(paintings):
            with night_slot(position, args.night):
                scripts[lang].append(writer.write(p, notes[p.key], lang))
        write_s[lang] = time.perf_counter() - start

    print(f"{len(paintings)} portraits, archives: {', '.join(z.name for z in zims) or 'none'}")
    print(f"research: {research_s:.2f} s in all ({research_s / len(paintings) * 1000:.0f} ms a painting)")
    table(paintings, notes, scripts, write_s)
    print("\nresearch per painting (facts found: artist + painting; what was chosen or turned down):")
    for p in paintings:
        n = notes[p.key]
        chosen = [line.split(": ", 1)[1] for line in n.searched if ": found " in line or ": rejected " in line]
        print(f"  {p.title[:40]:40} {len(n.artist_facts)} + {len(n.painting_facts)}  {'; '.join(chosen)[:150]}")

    # portraits whose sitters the shared archive knows: research and facts at work
    known = [Painting(id=100 + i, key=f"known-{i}", title=t, artist=a, year=y, artist_died=d, genre="portrait",
                      image_path=Path("none.jpg")) for i, (t, a, y, d) in enumerate(KNOWN)]  # fmt: skip
    known_notes = {p.key: researcher.research(p) for p in known}
    known_scripts: dict[Language, list[Script]] = {lang: [] for lang in LANGUAGES}
    for lang in LANGUAGES:
        for position, p in enumerate(known):
            with night_slot(position, args.night):
                known_scripts[lang].append(writer.write(p, known_notes[p.key], lang))
    print(f"\n{len(known)} portraits whose sitters are in the archives ({', '.join(t for t, *_ in KNOWN)}):")
    table(known, known_notes, known_scripts, None)
    for lang in LANGUAGES:
        shown = [*scripts[lang][: args.show], *known_scripts[lang][:1]]
        for s in shown:
            print(f"\n[{lang}] {s.title} ({len(s.script.split())} words)\n{s.script}")
    return 0


KNOWN = (
    ("Portrait of George IV", "Thomas Lawrence", 1822, 1830),
    ("Chandos portrait of William Shakespeare", "John Taylor", 1610, 1651),
    ("Portrait of Charles Darwin", "George Richmond", 1840, 1896),
)
"""Real portraits whose sitters have an article in wikipedia_en_100_mini (no image needed to write a script)."""


def facts_in(script: Script, notes: ResearchNotes) -> int:
    """How many researched facts a script carries (a fact's last five words found in the script)."""
    text = " ".join(script.script.split())
    count = 0
    for fact in (*notes.painting_facts, *notes.artist_facts):
        tail = " ".join(re.sub(r"[^\w\s']", " ", fact.text).split()[-5:])
        if tail and tail in re.sub(r"[^\w\s']", " ", text).replace("  ", " "):
            count += 1
    return count


def table(
    paintings: list[Painting], notes: dict[str, ResearchNotes], scripts: dict[Language, list[Script]],
    write_s: dict[Language, float] | None,
) -> None:  # fmt: skip
    print(
        f"{'lang':4} {'openings':>9} {'closings':>9} {'facts/script':>13} {'words min/med/max':>18} {'ms/script':>10}"
    )
    for lang in LANGUAGES:
        got = scripts[lang]
        openings = {s.hook for s in got}
        closings = {closing_of(s.script, lang) for s in got} - {None}
        facts = [facts_in(s, notes[p.key]) for s, p in zip(got, paintings, strict=True)]
        words = [len(s.script.split()) for s in got]
        ms = f"{write_s[lang] / len(got) * 1000:.1f}" if write_s else "-"
        print(
            f"{lang:4} {len(openings):>5}/{len(got):<3} {len(closings):>5}/{len(got):<3} "
            f"{statistics.mean(facts):>13.2f} {min(words):>6}/{statistics.median(words):>4.0f}/{max(words):<6} "
            f"{ms:>10}"
        )


if __name__ == "__main__":
    sys.exit(main())
