"""The store on a real SQLite file: nested transactions, migrations from every earlier schema, the state table."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from vivant.errors import IllegalTransition, StoreError
from vivant.states import ALLOWED, AttemptStatus, ItemState
from vivant.store import MIGRATIONS, NewArtifact, NewPainting, Store
from vivant.store.database import connect
from vivant.store.rows import ItemRow, from_row

NAMES = [name for name, _ in MIGRATIONS]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "vivant.db") as s:
        yield s


def _titles(store: Store) -> list[str]:
    return [store.painting(pid).title for pid, _ in store.painting_genres()]


def _painting(key: str) -> NewPainting:
    return NewPainting(key=key, title=key.upper(), artist="A", image_path=f"/x/{key}.png")


# -- nested atomic() ------------------------------------------------------------------------------------------------
def test_an_inner_savepoint_rolled_back_leaves_the_outer_write(store: Store) -> None:
    with store.atomic():
        store.add_paintings([_painting("outer")])
        with pytest.raises(RuntimeError), store.atomic():
            store.add_paintings([_painting("inner")])
            assert sorted(_titles(store)) == ["INNER", "OUTER"]  # visible inside, until rolled back
            raise RuntimeError("inner fails")
        store.add_paintings([_painting("after")])
    assert sorted(_titles(store)) == ["AFTER", "OUTER"]


def test_an_outer_rollback_takes_the_released_inner_write_with_it(store: Store) -> None:
    with pytest.raises(RuntimeError), store.atomic():
        store.add_paintings([_painting("outer")])
        with store.atomic():  # released (its own atomic() inside add_paintings is a third level)
            store.add_paintings([_painting("inner")])
        raise RuntimeError("outer fails")
    assert _titles(store) == []
    store.add_paintings([_painting("later")])  # the connection is usable again: no transaction left open
    assert _titles(store) == ["LATER"]


def test_a_middle_rollback_keeps_the_outer_and_drops_the_innermost(store: Store) -> None:
    with store.atomic():
        store.add_paintings([_painting("a")])
        with pytest.raises(KeyError), store.atomic():
            store.add_paintings([_painting("b")])
            with store.atomic():
                store.add_paintings([_painting("c")])
            raise KeyError("middle fails")
    assert _titles(store) == ["A"]


# -- migrations -----------------------------------------------------------------------------------------------------
def _database_at(path: Path, k: int) -> None:
    """A database as a version that knew only the first ``k`` migrations left it, with one painting in it."""
    old = Store(connect(path), path)
    try:
        assert old.migrate(MIGRATIONS[:k]) == NAMES[:k]
        old._conn.execute(
            "INSERT INTO paintings (key, title, artist, image_path, tags, is_portrait, added_at)"
            " VALUES ('old', 'Old', 'A', '/x/old.png', '[\"t\"]', 1, 1.0)"
        )
    finally:
        old.close()


@pytest.mark.parametrize("k", range(1, len(MIGRATIONS)))
def test_a_database_at_each_earlier_migration_is_brought_up_to_date(tmp_path: Path, k: int) -> None:
    path = tmp_path / "vivant.db"
    _database_at(path, k)
    with Store.open(path) as store:
        assert store.applied_migrations() == NAMES
        p = store.find_painting("old")  # the row is kept, the later columns empty
        assert (p.title, p.tags, p.is_portrait, p.title_fr, p.gender) == ("Old", ("t",), True, None, None)
        batch = store.create_batch([p.id], languages=["en"], seed=1)  # every later table and column works
        item = store.items(batch)[0]
        a = store.start_attempt(item.id, 1, "en", backend="local", resource="cpu")
        store.set_remote_id(a.id, "job-1", "http://gpu-a:8188")
        store.finish_attempt(a.id, AttemptStatus.SUCCEEDED, artifacts=[NewArtifact("script", "/x/s.json", "ab", 2)])
        assert store.attempt(a.id).endpoint == "http://gpu-a:8188"
        store.add_review(item.id, "APPROVE")
        assert store.queue_post(item.id, "youtube", "en", day="2026-01-01", slot=0, due_at=1.0)
        assert store.lease(batch) is None
    with Store.open(path) as again:  # opening an up-to-date database applies nothing
        assert again.migrate() == []


def test_a_database_from_a_newer_version_is_refused_before_anything_changes(tmp_path: Path) -> None:
    path = tmp_path / "vivant.db"
    _database_at(path, 3)
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO migrations VALUES ('0099_from_the_future', 2.0)")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError) as e:
        Store.open(path)
    message = str(e.value)
    assert str(path) in message and "0099_from_the_future" in message and "newer version" in message
    assert "\n" not in message
    raw = sqlite3.connect(path)
    names = [r[0] for r in raw.execute("SELECT name FROM migrations ORDER BY name")]
    columns = [r[1] for r in raw.execute("PRAGMA table_info(paintings)")]
    raw.close()
    assert names == [*NAMES[:3], "0099_from_the_future"] and "title_fr" not in columns  # 0004 not applied


# -- the state table ------------------------------------------------------------------------------------------------
def _path_to(state: ItemState) -> list[ItemState]:
    """Legal steps from PENDING to ``state`` (breadth first through ALLOWED)."""
    paths = {ItemState.PENDING: [ItemState.PENDING]}
    todo = [ItemState.PENDING]
    while todo:
        now = todo.pop(0)
        for nxt in sorted(ALLOWED[now]):
            if nxt not in paths:
                paths[nxt] = [*paths[now], nxt]
                todo.append(nxt)
    return paths[state][1:]


PAIRS = [(old, new) for old in ItemState for new in ItemState if old != new]


def test_every_state_change_outside_the_table_is_refused_and_every_one_in_it_is_recorded(store: Store) -> None:
    store.add_paintings(_painting(f"p{i}") for i in range(len(PAIRS)))
    batch = store.create_batch([pid for pid, _ in store.painting_genres()], languages=["en"], seed=None)
    refused = 0
    for item, (old, new) in zip(store.items(batch), PAIRS, strict=True):
        for step in _path_to(old):
            store.set_state(item.id, step, "setting up")
        before = store.transitions(item.id)
        if new in ALLOWED[old]:
            store.set_state(item.id, new, "ok")
            assert store.item(item.id).state == new
            assert store.transitions(item.id) == [*before, (old.value, new.value, "ok")]
        else:
            with pytest.raises(IllegalTransition) as e:
                store.set_state(item.id, new, "not allowed")
            assert f"{old} -> {new}" in str(e.value)
            assert store.item(item.id).state == old and store.transitions(item.id) == before
            refused += 1
    assert refused == len(PAIRS) - sum(len(v) for v in ALLOWED.values())


# -- the row mapper -------------------------------------------------------------------------------------------------
def test_rows_come_back_typed_from_their_columns(store: Store) -> None:
    store.add_paintings([NewPainting(key="k", title="T", artist="A", image_path="/x", tags=("a", "b"),
                                     is_portrait=True)])  # fmt: skip
    p = store.find_painting("k")
    assert p.tags == ("a", "b") and p.is_portrait is True
    batch = store.create_batch([p.id], languages=["fr", "en"], seed=3)
    assert store.batch(batch).languages == ("fr", "en")
    item = store.items(batch)[0]
    assert isinstance(item.state, ItemState) and item.state is ItemState.PENDING
    a = store.start_attempt(item.id, 2, "fr", backend="piper", resource="cpu")
    assert a.status is AttemptStatus.RUNNING and a.degraded is False and a.superseded is False
    store.queue_post(item.id, "folder", "fr", day="2026-01-01", slot=0, due_at=0.0)
    assert store.posts()[0].upload_ref == {}
    row = store._one("SELECT *, 42 AS extra FROM items WHERE id=?", (item.id,))
    assert row is not None and from_row(ItemRow, row) == item  # a column the row type does not name is left out
