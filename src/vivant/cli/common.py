"""What every command shares: the typer apps, the consoles, the options, the one-line error guard, logging,
opening the workspace."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from vivant.errors import VivantError
from vivant.languages import LANGUAGES
from vivant.redact import RedactingFilter, redact

if TYPE_CHECKING:
    from vivant.workspace import Workspace

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    help="Tableau Vivant: portrait paintings become talking vertical videos, every night, on your machines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
catalog_app = typer.Typer(help="Import painting catalogs and see what is in them.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
publish_app = typer.Typer(help="Publish approved videos: the plan, and the publisher.", no_args_is_help=True)
app.add_typer(publish_app, name="publish")
schedule_app = typer.Typer(help="Unattended nights: systemd timers or crontab lines.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
log = logging.getLogger("vivant")

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="vivant.toml to use (default: found in this folder or a parent).", envvar="VIVANT_CONFIG"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
LangsOpt = Annotated[str | None, typer.Option("--langs", help="Languages, comma-separated (default: config).")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show info-level logs.")]


def setup_logging(verbose: bool, log_dir: Path | None = None) -> None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for h in list(root.handlers):
        if getattr(h, "_vivant", False):
            root.removeHandler(h)
    handler = RichHandler(console=err_console, show_path=False, show_time=False, rich_tracebacks=False)
    handler.setLevel(logging.INFO if verbose else logging.WARNING)
    handler.addFilter(lambda r: r.exc_info is None or verbose)
    handler.addFilter(RedactingFilter())
    handler._vivant = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            fh = logging.FileHandler(log_dir / "vivant.log", encoding="utf-8")
        except OSError:
            return
        fh.setLevel(logging.DEBUG)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        fh.addFilter(RedactingFilter())
        fh._vivant = True  # type: ignore[attr-defined]
        root.addHandler(fh)


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn errors into one line for the user and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except VivantError as e:
            err_console.print(f"[bold red]error:[/] {escape(redact(str(e)))}", markup=True, highlight=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]: run `vivant resume` to continue where it stopped.")
            raise typer.Exit(130) from None
        except typer.Exit:
            raise
        except Exception as e:
            log.debug("unexpected error", exc_info=e)
            what = escape(redact(str(e)))
            err_console.print(f"[bold red]unexpected error:[/] {type(e).__name__}: {what} (details in logs/vivant.log)")
            raise typer.Exit(2) from None

    return wrapper


def open_ws(config: Path | None, verbose: bool = False) -> Workspace:
    """Open the workspace (its keys join the redaction), with logging to its ``logs/vivant.log``."""
    from vivant.workspace import open_workspace

    ws = open_workspace(config)
    _register_secrets(ws.settings)
    setup_logging(verbose, ws.settings.workspace / "logs")
    return ws


def _register_secrets(settings: Any) -> None:
    """The configured keys join the one redaction point (the credentials file's values join it when read)."""
    from vivant.redact import register

    register(settings.llm.key(), settings.whisper.key())


def parse_langs(value: str | None, default: list[str]) -> list[str]:
    if not value:
        return list(default)
    langs = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in langs if v not in LANGUAGES]
    if bad or not langs:
        raise VivantError(f"--langs: unknown language {', '.join(bad) or '(none)'}; choose from fr, en")
    return langs
