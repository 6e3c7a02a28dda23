"""FFmpeg commands as data (:class:`Graph`), and the filtergraph's syntax: escaped paths, short numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


def filter_path(path: Path | str) -> str:
    """Escape a file path for a filter option inside a filtergraph (both levels of FFmpeg's escaping)."""
    value = re.sub(r"([\\':])", r"\\\1", str(path))
    return re.sub(r"([\\'\[\],;])", r"\\\1", value)


def num(x: float) -> str:
    """A number for a filter option: an integer without a point, else at most four decimals."""
    return f"{x:.4f}".rstrip("0").rstrip(".") if not float(x).is_integer() else str(int(x))


@dataclass(frozen=True)
class Graph:
    """One ffmpeg command as data: its input arguments, its filtergraph's chains, its output arguments, and
    the text files its ``drawtext`` filters read (path -> text; written before the command runs)."""

    inputs: list[str]
    filters: list[str]
    outputs: list[str]
    texts: dict[Path, str] = field(default_factory=dict)

    def script(self) -> str:
        """The filtergraph, as written to the file that ``-/filter_complex`` reads."""
        return ";\n".join(self.filters)

    def args(self, script_file: Path) -> list[str]:
        """ffmpeg's arguments, the filtergraph read from ``script_file``."""
        return [*self.inputs, "-/filter_complex", str(script_file), *self.outputs]

    def write(self, script_file: Path) -> list[str]:
        """Write the texts and the filtergraph; return ffmpeg's arguments."""
        for path, text in self.texts.items():
            path.write_text(text, encoding="utf-8")
        script_file.write_text(self.script(), encoding="utf-8")
        return self.args(script_file)
