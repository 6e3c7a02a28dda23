"""The rows the store returns: small frozen dataclasses, and the one mapper that makes them from ``sqlite3.Row``.

:func:`from_row` reads a dataclass's field types once: JSON text becomes a tuple or a dict, 0/1 a bool, a state
name its enum; other columns are taken as they are, and columns the dataclass does not name are left out.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from vivant.states import AttemptStatus, ItemState


@dataclass(frozen=True)
class PaintingRow:
    id: int
    key: str
    title: str
    artist: str
    year: int | None
    artist_died: int | None
    genre: str | None
    style: str | None
    image_path: str
    tags: tuple[str, ...]
    description: str | None
    is_portrait: bool
    source: str
    title_fr: str | None = None
    gender: str | None = None
    """The sitter's gender as the catalog gives it: "female", "male", or None (unknown)."""


@dataclass(frozen=True)
class NewPainting:
    """A painting to add to the catalog (the import's output)."""

    key: str
    title: str
    artist: str
    image_path: str
    year: int | None = None
    artist_died: int | None = None
    genre: str | None = None
    style: str | None = None
    tags: tuple[str, ...] = ()
    description: str | None = None
    is_portrait: bool = False
    source: str = ""
    title_fr: str | None = None
    gender: str | None = None


@dataclass(frozen=True)
class BatchRow:
    id: int
    created_at: float
    finished_at: float | None
    status: str
    seed: int | None
    languages: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class ItemRow:
    id: int
    batch_id: int
    painting_id: int
    position: int
    state: ItemState
    reason: str
    redo_from: int | None
    updated_at: float


@dataclass(frozen=True)
class AttemptRow:
    id: int
    item_id: int
    step: int
    language: str
    number: int
    started_at: float
    finished_at: float | None
    status: AttemptStatus
    error: str
    backend: str
    degraded: bool
    resource: str
    queue_wait: float | None
    compute: float | None
    remote_id: str | None
    superseded: bool
    endpoint: str = ""
    """The server of a pool that ran it (a URL without credentials); empty for local work."""


@dataclass(frozen=True)
class ArtifactRow:
    id: int
    item_id: int
    attempt_id: int
    step: int
    language: str
    kind: str
    path: str
    sha256: str
    bytes: int
    created_at: float


@dataclass(frozen=True)
class NewArtifact:
    kind: str
    path: str
    sha256: str
    bytes: int


@dataclass(frozen=True)
class LeaseRow:
    """Who owns a batch now: one row per batch, written by the engine while it runs the batch."""

    batch_id: int
    owner: str
    host: str
    pid: int
    pid_start: str
    command: str
    started_at: float
    heartbeat_at: float


@dataclass(frozen=True)
class ReviewRow:
    id: int
    item_id: int
    decision: str
    reasons: tuple[str, ...]
    note: str
    redo_from: int | None
    at: float


@dataclass(frozen=True)
class PostRow:
    id: int
    item_id: int
    platform: str
    language: str
    state: str
    day: str
    slot: int
    due_at: float
    next_try_at: float | None
    upload_ref: dict[str, Any]
    remote_id: str | None
    url: str | None
    attempts: int
    error: str
    created_at: float
    updated_at: float
    posted_at: float | None


R = TypeVar("R")
_Convert = Callable[[Any], Any]


def _converter(hint: Any) -> _Convert | None:
    """How a column becomes a field of type ``hint`` (None: as it is)."""
    origin = typing.get_origin(hint)
    if origin is tuple:
        return lambda v: tuple(json.loads(v or "[]"))
    if origin is dict:
        return lambda v: json.loads(v or "{}")
    if hint is bool or (isinstance(hint, type) and issubclass(hint, Enum)):
        return lambda v: None if v is None else hint(v)
    return None


_PLANS: dict[type, tuple[tuple[str, _Convert | None], ...]] = {}


def _plan(cls: type) -> tuple[tuple[str, _Convert | None], ...]:
    """(field, converter) of each field of a row dataclass, worked out once per class."""
    plan = _PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        plan = _PLANS[cls] = tuple((f.name, _converter(hints[f.name])) for f in dataclasses.fields(cls))
    return plan


def from_row(cls: type[R], r: sqlite3.Row) -> R:
    """A ``cls`` row dataclass from a database row: the columns named by its fields, converted by their types."""
    columns = r.keys()
    values: dict[str, Any] = {}
    for name, convert in _plan(cls):
        if name in columns:
            value = r[name]
            values[name] = value if convert is None else convert(value)
    return cls(**values)
