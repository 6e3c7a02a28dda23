"""What an import read, kept and dropped (and why): :class:`ImportReport` and the drop reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

# Drop reasons (the keys of ImportReport.dropped_by_reason).
NOT_PD = "not public domain"
UNKNOWN_DATES = "unknown dates"
MISSING_TITLE = "missing title"
MISSING_IMAGE = "missing image path"
DUPLICATE_KEY = "duplicate key"
BAD_YEAR = "bad year"
BAD_SIDECAR = "bad sidecar"
FIELD_TOO_LONG = "field too long"


@dataclass
class ImportReport:
    """What an import read, kept and dropped (and why)."""

    source: str
    fmt: str = ""
    read: int = 0
    kept: int = 0
    dropped: int = 0
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    portraits: int = 0
    """Portraits among the kept rows."""
    portraits_read: int = 0
    """Portraits among the rows read, before any row was dropped."""
    inserted: int = 0
    updated: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)
    """Up to three examples per drop reason."""
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def drop(self, reason: str, example: str) -> None:
        self.dropped += 1
        self.dropped_by_reason[reason] = self.dropped_by_reason.get(reason, 0) + 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 3:
            shown.append(example)

    def merge(self, other: ImportReport) -> None:
        self.read += other.read
        self.kept += other.kept
        self.dropped += other.dropped
        for reason, n in other.dropped_by_reason.items():
            self.dropped_by_reason[reason] = self.dropped_by_reason.get(reason, 0) + n
        for reason, shown in other.examples.items():
            mine = self.examples.setdefault(reason, [])
            mine.extend(shown[: max(0, 3 - len(mine))])
        self.portraits += other.portraits
        self.portraits_read += other.portraits_read
        self.inserted += other.inserted
        self.updated += other.updated
        self.notes.extend(n for n in other.notes if n not in self.notes)
        self.files.extend(other.files)
        if other.fmt and other.fmt not in self.fmt.split("+"):
            self.fmt = f"{self.fmt}+{other.fmt}" if self.fmt else other.fmt

    def lines(self) -> list[str]:
        head = f"{self.source} ({self.fmt or '?'}): read {self.read:,} rows"
        out = [f"{head}, kept {self.kept:,}, dropped {self.dropped:,}"]
        if len(self.files) > 1:
            out.append(f"  files: {', '.join(self.files)}")
        for reason, n in sorted(self.dropped_by_reason.items(), key=lambda kv: (-kv[1], kv[0])):
            shown = self.examples.get(reason, [])
            eg = f" (e.g. {'; '.join(shown)})" if shown else ""
            out.append(f"  dropped, {reason}: {n:,}{eg}")
        out.append(f"  portraits: {self.portraits:,} kept of {self.portraits_read:,} read")
        out.append(f"  database: {self.inserted:,} inserted, {self.updated:,} updated")
        out.extend(f"  note: {n}" for n in self.notes)
        return out
