"""A workspace: the folder holding ``vivant.toml``, the database, ``batches/``, ``pool/`` and ``reports/``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from vivant import config
from vivant.config import Settings
from vivant.errors import ConfigError, WorkspaceError
from vivant.store import Store

log = logging.getLogger(__name__)


def init_workspace(folder: Path, *, zim_files: list[Path] | None = None, force: bool = False) -> Path:
    """Write a commented ``vivant.toml`` and create the workspace folders; return the config path."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / config.CONFIG_NAME
        if path.exists() and not force:
            log.info("%s exists; kept as it is", path)
        else:
            text = config.default_toml(zim_files=zim_files)
            config.parse(text, source=str(path), base=folder)  # the template must always be valid
            path.write_text(text, encoding="utf-8")
        settings = config.load(path)
        for sub in (settings.batches_dir, settings.pool_dir, settings.reports_dir, settings.workspace / "logs"):
            sub.mkdir(parents=True, exist_ok=True)
        Store.open(settings.database).close()
    except OSError as e:
        raise WorkspaceError(f"{folder}: cannot create the workspace: {e.strerror or e}") from None
    return path


@dataclass
class Workspace:
    config_path: Path
    settings: Settings
    store: Store

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_workspace(config_path: Path | None = None) -> Workspace:
    """Load the config (given, or found in the current folder or its parents) and open the database."""
    path = config_path or config.find()
    if path is None:
        raise ConfigError("no vivant.toml here or in a parent folder: run `vivant init` or pass --config")
    settings = config.load(path)
    for sub in (settings.batches_dir, settings.pool_dir, settings.reports_dir):
        try:
            sub.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise WorkspaceError(f"{sub}: cannot create: {e.strerror or e}") from None
    return Workspace(path, settings, Store.open(settings.database))
