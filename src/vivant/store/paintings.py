"""The catalog's paintings: add or update by key, look up, the portraits a draw picks from, the figures."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from vivant.errors import StoreError
from vivant.store.database import Database
from vivant.store.rows import NewPainting, PaintingRow, from_row


class PaintingQueries(Database):
    """The ``paintings`` table."""

    def add_paintings(self, rows: Iterable[NewPainting]) -> tuple[int, int]:
        """Insert or update paintings by ``key``; return (inserted, updated)."""
        now = self.clock()
        inserted = updated = 0
        with self.atomic() as c:
            existing = {r[0] for r in c.execute("SELECT key FROM paintings")}
            for p in rows:
                values = (
                    p.title, p.artist, p.year, p.artist_died, p.genre, p.style, p.image_path,
                    json.dumps(list(p.tags), ensure_ascii=False), p.description, int(p.is_portrait), p.source,
                    p.title_fr, p.gender,
                )  # fmt: skip
                if p.key in existing:
                    c.execute(
                        "UPDATE paintings SET title=?, artist=?, year=?, artist_died=?, genre=?, style=?,"
                        " image_path=?, tags=?, description=?, is_portrait=?, source=?, title_fr=?, gender=?"
                        " WHERE key=?",
                        (*values, p.key),
                    )
                    updated += 1
                else:
                    c.execute(
                        "INSERT INTO paintings (title, artist, year, artist_died, genre, style, image_path, tags,"
                        " description, is_portrait, source, title_fr, gender, key, added_at)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (*values, p.key, now),
                    )
                    existing.add(p.key)
                    inserted += 1
        return inserted, updated

    def painting(self, painting_id: int) -> PaintingRow:
        return self._by_id(PaintingRow, "paintings", painting_id, "painting with id")

    def find_painting(self, ref: str) -> PaintingRow:
        """A painting by id, key, or unique title (case-insensitive)."""
        r = self._one("SELECT * FROM paintings WHERE key=?", (ref,))
        if r is None and ref.isdigit():
            r = self._one("SELECT * FROM paintings WHERE id=?", (int(ref),))
        if r is None:
            rows = self._all("SELECT * FROM paintings WHERE lower(title)=lower(?)", (ref,))
            if len(rows) > 1:
                raise StoreError(f"painting {ref!r}: {len(rows)} paintings have that title; use the key")
            r = rows[0] if rows else None
        if r is None:
            raise StoreError(f"painting {ref!r}: not in the catalog")
        return from_row(PaintingRow, r)

    def portrait_candidates(self, *, include_used: bool = False) -> list[tuple[int, str]]:
        """(id, image_path) of every portrait, optionally leaving out those already in a batch, by id."""
        sql = "SELECT id, image_path FROM paintings WHERE is_portrait=1"
        if not include_used:
            sql += " AND id NOT IN (SELECT painting_id FROM items)"
        return [(r[0], r[1]) for r in self._conn.execute(sql + " ORDER BY id")]

    def painting_genres(self) -> list[tuple[int, str]]:
        """(id, genre) of every painting, by id."""
        return [(r[0], r[1] or "") for r in self._conn.execute("SELECT id, genre FROM paintings ORDER BY id")]

    def portrait_ids(self, *, include_used: bool = False) -> list[int]:
        """Ids of every portrait (optionally leaving out those already in a batch), by id; no paths, so cheap."""
        sql = "SELECT id FROM paintings WHERE is_portrait=1"
        if not include_used:
            sql += " AND id NOT IN (SELECT painting_id FROM items)"
        return [r[0] for r in self._conn.execute(sql + " ORDER BY id")]

    def image_paths(self, painting_ids: Sequence[int]) -> dict[int, str]:
        """image_path of each of these paintings, by id (ids not in the catalog are left out)."""
        out: dict[int, str] = {}
        ids = list(painting_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            out.update((r[0], r[1]) for r in self._conn.execute(
                f"SELECT id, image_path FROM paintings WHERE id IN ({marks})", chunk
            ))  # fmt: skip
        return out

    def catalog_stats(self) -> dict[str, Any]:
        one = self._one(
            "SELECT count(*) AS n, sum(is_portrait) AS portraits, count(DISTINCT artist) AS artists,"
            " sum(CASE WHEN id IN (SELECT painting_id FROM items) THEN 1 ELSE 0 END) AS used FROM paintings"
        )
        assert one is not None
        genres = self._all("SELECT coalesce(genre, '?') g, count(*) n FROM paintings GROUP BY g ORDER BY n DESC")
        artists = self._all("SELECT artist, count(*) n FROM paintings GROUP BY artist ORDER BY n DESC LIMIT 10")
        sources = self._all("SELECT source, count(*) n FROM paintings GROUP BY source ORDER BY n DESC")
        return {
            "paintings": one["n"],
            "portraits": one["portraits"] or 0,
            "artists": one["artists"],
            "used": one["used"] or 0,
            "genres": {r["g"]: r["n"] for r in genres},
            "top_artists": {r["artist"]: r["n"] for r in artists},
            "sources": {r["source"]: r["n"] for r in sources},
        }
