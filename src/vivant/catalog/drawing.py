"""The random draw of portraits for a batch, and the catalog's figures."""

from __future__ import annotations

import logging
import os
import random
from typing import Any

from vivant.store import Store

log = logging.getLogger(__name__)


def draw(
    store: Store, n: int, *, seed: int | None, include_used: bool = False, rng: random.Random | None = None
) -> list[int]:
    """``n`` portrait ids at random whose image file exists, leaving out those used by earlier batches.

    The same seed (and catalog) gives the same ids; ``rng``, when given, is used instead of a new
    ``random.Random(seed)``. The ids are shuffled lazily (Fisher-Yates, one step per candidate looked at) and
    image files are looked for only as the walk reaches them, their paths fetched a chunk at a time, so a large
    catalog costs little for a small ``n``. Returns fewer than ``n`` ids, with a warning, when not enough remain.
    """
    if n <= 0:
        return []
    ids = store.portrait_ids(include_used=include_used)
    rng = rng if rng is not None else random.Random(seed)
    total = len(ids)
    picked: list[int] = []
    missing = 0
    i = 0
    chunk = max(8, 2 * n)
    while i < total and len(picked) < n:
        end = min(total, i + chunk)
        for k in range(i, end):  # the next steps of the shuffle
            j = rng.randrange(k, total)
            ids[k], ids[j] = ids[j], ids[k]
        paths = store.image_paths(ids[i:end])
        for painting_id in ids[i:end]:
            path = paths.get(painting_id)
            if path and os.path.isfile(path):
                picked.append(painting_id)
                if len(picked) == n:
                    break
            else:
                missing += 1
        i = end
        chunk = min(4096, chunk * 2)
    if missing:
        log.info("draw: skipped %d portraits whose image file is missing", missing)
    if len(picked) < n:
        log.warning(
            "draw: asked for %d portraits, only %d available (%d candidates%s, %d without an image file)",
            n, len(picked), total, "" if include_used else " not used before", missing,
        )  # fmt: skip
    return picked


def stats(store: Store) -> dict[str, Any]:
    """The catalog's figures (:meth:`Store.catalog_stats`) plus ``unused_portraits``."""
    figures = store.catalog_stats()
    figures["unused_portraits"] = len(store.portrait_ids(include_used=False))
    return figures
