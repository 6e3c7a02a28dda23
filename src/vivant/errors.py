"""The exception tree of Tableau Vivant.

Every error a user can meet derives from :class:`VivantError`, whose ``str()`` is one readable line naming the
file, the painting or the config key at fault. The CLI prints that line and exits non-zero; it never shows a
traceback for a ``VivantError``. Library code raises these, it never prints.

    VivantError
    ├── ConfigError           bad or missing vivant.toml key or value
    ├── CatalogError          unreadable catalog file, missing columns
    ├── StoreError            database problems
    │   ├── IllegalTransition an item state change the state table forbids
    │   └── BatchBusy         another live process owns the batch (its lease)
    ├── StepError             a step could not do its job (retried by the engine)
    │   ├── InputError        bad input for one painting (not an image, truncated, missing): not retried
    │   └── ExternalToolError an external program failed
    │       └── FFmpegError   ffmpeg exited non-zero (carries the stderr tail)
    └── WorkspaceError        the workspace cannot be written (disk full, permissions)
"""

from __future__ import annotations

from collections.abc import Sequence


class VivantError(Exception):
    """Base class: the message is meant for the user, as one line."""


class ConfigError(VivantError):
    """The configuration file has a bad key or value."""


class CatalogError(VivantError):
    """A catalog source could not be read."""


class StoreError(VivantError):
    """The state database could not be read or written."""


class IllegalTransition(StoreError):
    """An item state change that the transition table forbids."""

    def __init__(self, item_id: int, old: str, new: str) -> None:
        super().__init__(f"item {item_id}: illegal state change {old} -> {new}")
        self.item_id, self.old, self.new = item_id, old, new


class BatchBusy(StoreError):
    """Another live process owns the batch (``leases`` row): nothing was changed."""

    def __init__(self, batch_id: int, message: str) -> None:
        super().__init__(message)
        self.batch_id = batch_id


class StepError(VivantError):
    """A step failed. The engine retries it (two more attempts by default)."""

    retryable: bool = True


class InputError(StepError):
    """The painting's input is bad (not an image, truncated, missing): retrying cannot help."""

    retryable = False


class ExternalToolError(StepError):
    """An external program failed."""


class FFmpegError(ExternalToolError):
    """ffmpeg exited with an error. ``stderr_tail`` holds its last lines."""

    def __init__(self, message: str, *, cmd: Sequence[str] = (), stderr_tail: str = "") -> None:
        self.cmd = list(cmd)
        self.stderr_tail = stderr_tail
        tail = stderr_tail.strip().splitlines()[-3:] if stderr_tail else []
        super().__init__(message + (": " + " | ".join(tail) if tail else ""))


class WorkspaceError(VivantError):
    """The workspace cannot be written (disk full, permissions, missing folder)."""
