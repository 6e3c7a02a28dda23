"""Issue 11 item 5: the French video's metadata carries the painting's French title (the script's
``painting_title``), the English one the original title."""

from __future__ import annotations

import json
from pathlib import Path

from vivant import config
from vivant.publish import pool
from vivant.states import ItemState
from vivant.store import Store


def test_metadata_uses_the_scripts_title_for_its_language(ws_config: Path) -> None:
    settings = config.load(ws_config)
    with Store.open(settings.database) as store:
        item = store.items_in_states([ItemState.COMPLETE])[0]
        painting = store.painting(item.painting_id)
        scripts = {}
        for lang in ("fr", "en"):
            (art,) = store.artifacts(item.id, step=1, language=lang, kind="script")
            scripts[lang] = settings.workspace / art.path
        en = json.loads(scripts["en"].read_text(encoding="utf-8"))
        assert en["painting_title"] == painting.title  # the template writer wrote it
        fr = json.loads(scripts["fr"].read_text(encoding="utf-8"))
        fr["painting_title"] = "La Jeune Fille à la perle"  # as with title_fr in the catalog
        scripts["fr"].write_text(json.dumps(fr), encoding="utf-8")
        fr_meta = pool.metadata(store, settings, item.id, "fr")
        en_meta = pool.metadata(store, settings, item.id, "en")
    assert "La Jeune Fille à la perle — " in fr_meta["description"]
    assert f"{painting.title} — " in en_meta["description"]
    assert "La Jeune Fille" not in en_meta["description"]
