"""The pool of approved videos: for each approved painting and language, a metadata file beside the engine's
copies in ``pool/`` (``<painting>.<lang>.json``: title, description, hashtags, AI-generated disclosure,
language, the renders), and the renders that differ by platform.

TikTok's content-sharing guidelines forbid watermarks and branding, so TikTok gets its own render without the
watermark, made on demand (at publish time) by :func:`vivant.render.render_final` from the same step artifacts
as step 9's. Other platforms use step 9's video.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

from vivant.config import Settings
from vivant.errors import StoreError, WorkspaceError
from vivant.files import file_stem, sha256_of
from vivant.publish.base import PostMetadata
from vivant.states import ItemState
from vivant.store import Store

log = logging.getLogger(__name__)

NO_BRANDING = frozenset({"tiktok"})
"""Platforms whose render must carry no watermark or branding."""

DISCLOSURE = {
    "en": "Made with AI: a public-domain painting animated by a computer; the voice is synthetic.",
    "fr": "Créé avec l'IA : un tableau du domaine public animé par ordinateur ; la voix est synthétique.",
}


def _artifact(store: Store, settings: Settings, item_id: int, step: int, kind: str, lang: str) -> Path | None:
    rows = store.artifacts(item_id, step=step, language=lang, kind=kind)
    return settings.workspace / rows[-1].path if rows else None


def _script(store: Store, settings: Settings, item_id: int, lang: str) -> dict[str, Any]:
    path = _artifact(store, settings, item_id, 1, "script", lang)
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def entry_path(settings: Settings, key: str, lang: str, item_id: int) -> Path:
    """``pool/approved/<item>-<painting>.<lang>.json`` (a painting may come back in a later batch)."""
    return settings.pool_dir / "approved" / f"{item_id}-{file_stem(key)}.{lang}.json"


def languages(store: Store, item_id: int) -> list[str]:
    """Languages of the item that have a final video."""
    item = store.item(item_id)
    return [lang for lang in store.batch(item.batch_id).languages if store.artifacts(item_id, step=9, language=lang,
                                                                                        kind="video")]  # fmt: skip


def metadata(store: Store, settings: Settings, item_id: int, lang: str) -> dict[str, Any]:
    """The pool entry of one approved video, as data."""
    item = store.item(item_id)
    painting = store.painting(item.painting_id)
    script = _script(store, settings, item_id, lang)
    video = _artifact(store, settings, item_id, 9, "video", lang)
    thumb = _artifact(store, settings, item_id, 9, "thumbnail", lang)
    if video is None:
        raise StoreError(f"item {item_id}: no final {lang} video")
    hashtags = [str(h) for h in script.get("hashtags", [])]
    byline = painting.artist + (f", {painting.year}" if painting.year else "")
    painting_title = str(script.get("painting_title") or painting.title)  # in the video's language
    disclosure = DISCLOSURE.get(lang, DISCLOSURE["en"])
    description = "\n\n".join(
        part for part in (str(script.get("hook", "")), f"{painting_title} — {byline}.", disclosure, " ".join(hashtags))
        if part
    )  # fmt: skip
    approved = [r.at for r in store.reviews(item_id) if r.decision == "APPROVE"]
    return {
        "item": item_id,
        "painting": painting.key,
        "language": lang,
        "title": str(script.get("title") or painting.title)[:100],
        "description": description,
        "hashtags": hashtags,
        "ai_generated": True,
        "ai_disclosure": disclosure,
        "approved_at": approved[-1] if approved else None,
        "renders": {"default": {"path": str(video.relative_to(settings.workspace)), "sha256": sha256_of(video)}},
        "thumbnail": str(thumb.relative_to(settings.workspace)) if thumb else None,
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise WorkspaceError(f"{path}: cannot write the pool entry: {e.strerror or e}") from None


def add(store: Store, settings: Settings, item_id: int) -> list[Path]:
    """Write the pool entries of an approved item (one per language); return their paths."""
    item = store.item(item_id)
    painting = store.painting(item.painting_id)
    out = []
    for lang in languages(store, item_id):
        path = entry_path(settings, painting.key, lang, item_id)
        data = metadata(store, settings, item_id, lang)
        old = read(path)
        if old and old.get("item") == item_id:
            # Keep the platform renders already made for this very video.
            for name, render in old.get("renders", {}).items():
                if name != "default" and old["renders"]["default"]["sha256"] == data["renders"]["default"]["sha256"]:
                    data["renders"][name] = render
        _write_json(path, data)
        out.append(path)
    return out


def read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def entry(store: Store, settings: Settings, item_id: int, lang: str) -> dict[str, Any]:
    """The pool entry of an approved item, written first if missing or stale."""
    painting = store.painting(store.item(item_id).painting_id)
    path = entry_path(settings, painting.key, lang, item_id)
    data = read(path)
    if data is None or data.get("item") != item_id:
        add(store, settings, item_id)
        data = read(path)
    if data is None:
        raise StoreError(f"item {item_id}: no pool entry for {lang}")
    return data


def withdraw(store: Store, settings: Settings, item_id: int) -> None:
    """Take an item out of the pool (rejected or sent back) and cancel its posts not yet made."""
    item = store.item(item_id)
    painting = store.painting(item.painting_id)
    for lang in store.batch(item.batch_id).languages:
        path = entry_path(settings, painting.key, lang, item_id)
        data = read(path)
        if data is not None and data.get("item") == item_id:
            for name, render in data.get("renders", {}).items():
                if name != "default":
                    (settings.workspace / render["path"]).unlink(missing_ok=True)
            path.unlink(missing_ok=True)
    for post in store.posts(item_id=item_id, states=["QUEUED", "FAILED"]):
        store.finish_post(post.id, "CANCELLED", error="withdrawn in review")


def post_metadata(data: dict[str, Any]) -> PostMetadata:
    return PostMetadata(
        title=str(data["title"]), description=str(data["description"]), hashtags=list(data["hashtags"]),
        language=str(data["language"]), ai_generated=bool(data.get("ai_generated", True)),
        ai_disclosure=str(data.get("ai_disclosure", "")), painting=str(data["painting"]),
    )  # fmt: skip


def render_for(store: Store, settings: Settings, item_id: int, lang: str, platform: str) -> Path:
    """The video file to post on ``platform``: step 9's, or a render without watermark where branding is
    forbidden (made once, recorded in the pool entry)."""
    data = entry(store, settings, item_id, lang)
    default = settings.workspace / data["renders"]["default"]["path"]
    if platform not in NO_BRANDING or not (settings.render.watermark or "").strip():
        return default
    name = "unbranded"
    made = data["renders"].get(name)
    if made and (settings.workspace / made["path"]).is_file():
        path = settings.workspace / made["path"]
        if sha256_of(path) == made["sha256"]:
            return path
    painting = store.painting(store.item(item_id).painting_id)
    out = entry_path(settings, painting.key, lang, item_id).with_suffix(f".{name}.mp4")
    _render_unbranded(store, settings, item_id, lang, out)
    data["renders"][name] = {"path": str(out.relative_to(settings.workspace)), "sha256": sha256_of(out)}
    _write_json(entry_path(settings, painting.key, lang, item_id), data)
    return out


def _render_unbranded(store: Store, settings: Settings, item_id: int, lang: str, out: Path) -> None:
    from vivant.render import FinalSpec, pick_music, render_final

    item = store.item(item_id)
    if item.state != ItemState.APPROVED:
        raise StoreError(f"item {item_id} is {item.state.value}, not approved")
    painting = store.painting(item.painting_id)

    def need(step: int, kind: str, language: str = "") -> Path:
        path = _artifact(store, settings, item_id, step, kind, language)
        if path is None or not path.is_file():
            raise StoreError(f"item {item_id}: the {kind} of step {step} is missing; redo the painting")
        return path

    r = settings.render
    script = _script(store, settings, item_id, lang)
    spec = FinalSpec.from_settings(
        r, clips=[need(5, "video"), need(6, "video", lang), need(8, "video")],
        title=str(script.get("painting_title") or painting.title),
        artist=painting.artist, year=painting.year, subtitles=need(7, "subtitles", lang),
        music=pick_music(r.music_dir, f"{painting.key}:{lang}"),
    )  # fmt: skip
    spec = dataclasses.replace(
        spec, watermark=None,
        metadata={"title": str(script.get("title", painting.title)), "comment": " ".join(script.get("hashtags", [])),
                  "language": {"fr": "fra", "en": "eng"}.get(lang, "und")},
    )  # fmt: skip
    log.info("%s [%s]: rendering the version without watermark", painting.key, lang)
    render_final(spec, out)
