"""The folder exporter (the default "platform"): each post is the video, its thumbnail and its metadata copied
into ``<folder>/<day>/`` under a fixed name, through a temporary name. Posting again finds the file already
there with the same content and does nothing, so it is idempotent by construction."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

from vivant.errors import WorkspaceError
from vivant.files import sha256_of
from vivant.publish.base import PostJob, PostResult, SaveRef


class FolderExporter:
    name = "folder"

    def __init__(self, target: Path) -> None:
        self.target = target

    def publish(self, job: PostJob, save_ref: SaveRef) -> PostResult:
        folder = self.target / (job.day or "undated")
        base = f"{job.stem}.{job.meta.language}"
        video = folder / f"{base}.mp4"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not (video.is_file() and sha256_of(video) == sha256_of(job.video)):
                _copy(job.video, video)
            if job.thumbnail is not None and job.thumbnail.is_file():
                _copy(job.thumbnail, folder / f"{base}.jpg")
            meta = {**dataclasses.asdict(job.meta), "video": video.name, "publish_at": job.publish_at}
            tmp = folder / f".tmp-{base}.json"
            tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, folder / f"{base}.json")
        except OSError as e:
            raise WorkspaceError(f"{folder}: cannot export: {e.strerror or e}") from None
        return PostResult(remote_id=str(video.relative_to(self.target)), url=video.resolve().as_uri())


def _copy(src: Path, dest: Path) -> None:
    tmp = dest.with_name(f".tmp-{dest.name}")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
