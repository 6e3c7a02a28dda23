"""The ``vivant`` command line: thin typer commands over the library.

Every command turns a :class:`~vivant.errors.VivantError` into one red line and a non-zero exit; unexpected
errors are written with their traceback to ``logs/vivant.log`` in the workspace, and the user sees one line
pointing there. Progress comes from engine events rendered with rich. The commands are grouped by job
(``setup``, ``nights``, ``checks``, ``demo``, ``publishing``); importing them registers them on :data:`app`,
in the order ``vivant --help`` lists them.
"""

from __future__ import annotations

import importlib

from vivant.cli.common import app
from vivant.cli.view import ProgressView

for _group in ("setup", "nights", "checks", "demo", "publishing"):  # registers the commands, in this order
    importlib.import_module(f"vivant.cli.{_group}")

__all__ = ["ProgressView", "app", "run"]


def run() -> None:  # pragma: no cover - console entry point alias
    app()
