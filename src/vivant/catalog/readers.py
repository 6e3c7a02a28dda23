"""Readers of catalog files: text in UTF-8 or Windows-1252, CSV rows (any common delimiter, bounded fields),
JSON lists, folders of images with JSON sidecars, portrait lists."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

from vivant.catalog.columns import ColumnMap, Raw, norm_col, raw_from_mapping, resolve_or_fail
from vivant.catalog.fields import IMAGE_EXTENSIONS, humanize, slug_key
from vivant.catalog.report import BAD_SIDECAR, ImportReport
from vivant.errors import CatalogError

CSV_FIELD_LIMIT = 16 * 1024 * 1024
"""Longest CSV field read at all (Python's default is 128 KiB); a row over :data:`FIELD_LIMITS` is dropped."""


def absolute(image: str, base: str) -> str:
    p = os.path.expanduser(image.strip())
    if not os.path.isabs(p):
        p = os.path.join(base, p)
    return os.path.normpath(p)


def read_text(path: Path, report: ImportReport | None = None) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CatalogError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if report is not None:
            report.notes.append(f"{path.name} is not UTF-8; read as Windows-1252")
        return data.decode("cp1252", errors="replace")


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def csv_rows(text: str, source: str = "") -> Iterator[list[str]]:
    """The non-blank rows of CSV ``text``; a field over :data:`CSV_FIELD_LIMIT` (or broken quoting) raises
    :class:`CatalogError` naming ``source`` and the line."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(first))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise CatalogError(f"{source or 'CSV'}:{reader.line_num}: {e}") from None
        if row and any(cell.strip() for cell in row):
            yield row


def read_csv(path: Path, rows: Iterator[list[str]], header: list[str], cmap: ColumnMap, base: str) -> Iterator[Raw]:
    header = [h.strip().lstrip("\ufeff") for h in header]
    cols = resolve_or_fail(cmap, header, path)
    for n, row in enumerate(rows, 2):
        obj = dict(zip(header, row, strict=False))
        yield raw_from_mapping(obj, cols, f"{path.name}:{n}", base)


def read_json(path: Path, text: str, cmap: ColumnMap, base: str) -> Iterator[Raw]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CatalogError(f"{path}: not valid JSON (line {e.lineno}): {e.msg}") from None
    if isinstance(data, dict):
        data = data.get("paintings")
    if not isinstance(data, list) or not all(isinstance(o, dict) for o in data):
        raise CatalogError(f'{path}: expected a list of objects or {{"paintings": [...]}}')
    keys: list[str] = []
    for o in data:
        keys.extend(k for k in o if k not in keys)
    resolve_or_fail(cmap, keys, path)
    resolved: dict[tuple[str, ...], dict[str, str]] = {}  # objects may name their fields differently
    for n, obj in enumerate(data, 1):
        names = tuple(obj)
        cols = resolved.get(names)
        if cols is None:
            cols = resolved[names] = cmap.resolve(names)
        yield raw_from_mapping(obj, cols, f"{path.name}[{n}]", base)


def _image_files(folder: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(Path(dirpath) / name)
    return found


def read_folder(folder: Path, cmap: ColumnMap, report: ImportReport) -> Iterator[Raw]:
    base = str(folder)
    for img in _image_files(folder):
        rel = img.relative_to(folder).as_posix()
        origin = rel
        sidecar = next((s for s in (img.with_suffix(".json"), img.with_name(img.name + ".json")) if s.is_file()), None)
        if sidecar is None:
            yield Raw(origin=origin, image=rel, title=humanize(img.stem), artist="Unknown", base=base)
            continue
        try:
            meta = json.loads(read_text(sidecar))
        except (json.JSONDecodeError, CatalogError) as e:
            report.read += 1
            report.drop(BAD_SIDECAR, f"{sidecar.name}: {e}")
            continue
        if not isinstance(meta, dict):
            report.read += 1
            report.drop(BAD_SIDECAR, f"{sidecar.name}: not a JSON object")
            continue
        raw = raw_from_mapping(meta, cmap.resolve(meta.keys()), f"{rel} (+{sidecar.name})", base)
        raw.image = rel  # the image is the file beside the sidecar, whatever the sidecar says
        raw.title = raw.title or humanize(img.stem)
        yield raw


def load_portrait_list(path: Path, base: str) -> set[str]:
    """Keys, slugs and absolute paths of the entries of a portrait list (one per line, or a CSV's path column)."""
    rows = list(csv_rows(read_text(path), str(path)))
    col = 0
    if rows:
        header = [norm_col(c) for c in rows[0]]
        named = next((header.index(c) for c in ("key", "path", "file", "image", "image_path") if c in header), None)
        if named is not None:
            col, rows = named, rows[1:]
    out: set[str] = set()
    for row in rows:
        entry = row[col].strip() if col < len(row) else ""
        if entry:
            out.update({entry, slug_key(entry), absolute(entry, base)})
    return out
