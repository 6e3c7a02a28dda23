"""The texts drawn over the final video: title, artist line and watermark, laid out in balanced lines.

The layout measures the words with the font itself (Pillow), so a title fits the width it is given; the
``drawtext`` filters read their texts from files (no quoting of titles is needed): :func:`overlay_filters`
returns the filters and the texts to write, as data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from vivant.backends.local.fonts import font_file
from vivant.render.spec import FinalSpec
from vivant.render.syntax import filter_path, num

TITLE_FADE_IN = 0.5
TITLE_FADE_OUT = 0.7
_LINE_SPACING = 1.22


def _wrap(words: Sequence[str], width_of: Callable[[str], float], max_width: float) -> list[str]:
    """Greedy wrap, then the same number of lines re-split so that the widest line is as narrow as possible."""
    greedy: list[str] = []
    for word in words:
        if greedy and width_of(greedy[-1] + " " + word) <= max_width:
            greedy[-1] += " " + word
        else:
            greedy.append(word)
    k, n = len(greedy), len(words)
    if k < 2 or n > 40:
        return greedy
    # best[j][m]: (widest line, breaks) for the first j words in m lines
    inf = (float("inf"), ())
    best: list[list[tuple[float, tuple[int, ...]]]] = [[inf] * (k + 1) for _ in range(n + 1)]
    best[0][0] = (0.0, ())
    for j in range(1, n + 1):
        for m in range(1, min(j, k) + 1):
            for i in range(m - 1, j):
                prev = best[i][m - 1]
                if prev[0] == float("inf"):
                    continue
                widest = max(prev[0], width_of(" ".join(words[i:j])))
                if widest < best[j][m][0]:
                    best[j][m] = (widest, (*prev[1], j))
    widest, breaks = best[n][k]
    if widest == float("inf"):
        return greedy
    starts = (0, *breaks[:-1])
    return [" ".join(words[a:b]) for a, b in zip(starts, breaks, strict=True)]


def fit_lines(
    text: str, font: Path, size: int, max_width: float, *, max_lines: int = 3, min_size: int = 12
) -> tuple[list[str], int]:
    """Wrap ``text`` to ``max_width`` pixels in balanced lines, shrinking the font until it fits in
    ``max_lines`` lines. Return the lines and the font size."""
    from PIL import ImageFont

    words = text.split()
    while True:
        face = ImageFont.truetype(str(font), size)
        lines = _wrap(words, face.getlength, max_width)
        fits = len(lines) <= max_lines and all(face.getlength(line) <= max_width for line in lines)
        if fits or size <= min_size:
            return lines, size
        size = max(min_size, int(size * 0.9))


def drawtext(
    textfile: Path,
    font: Path,
    size: int,
    *,
    x: str,
    y: int,
    color: str = "white",
    border: int = 0,
    shadow: int = 0,
    alpha: str | None = None,
    enable: str | None = None,
) -> str:
    """One ``drawtext`` filter drawing the text of ``textfile`` (no expansion of ``%{...}``)."""
    opts = [
        f"fontfile={filter_path(font)}",
        f"textfile={filter_path(textfile)}",
        "expansion=none",
        f"fontsize={size}",
        f"fontcolor={color}",
        f"x={x}",
        f"y={y}",
    ]
    if border:
        opts += [f"borderw={border}", "bordercolor=black@0.85"]
    if shadow:
        opts += [f"shadowx={shadow}", f"shadowy={shadow}", "shadowcolor=black@0.5"]
    if alpha:
        opts.append(f"alpha='{alpha}'")
    if enable:
        opts.append(f"enable='{enable}'")
    return "drawtext=" + ":".join(opts)


class Overlays:
    """The ``drawtext`` filters, in drawing order, and the files they read (path -> text, to write first)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.filters: list[str] = []
        self.texts: dict[Path, str] = {}

    def text_file(self, name: str, text: str) -> Path:
        """The path of a text file in the work folder that will hold ``text``."""
        path = self.workdir / name
        self.texts[path] = text
        return path

    def block(self, name: str, lines: Sequence[str], font: Path, size: int, y: int, *, alpha: str,
              enable: str) -> int:  # fmt: skip
        """Centred lines, a fading block shown while ``enable`` holds; return the y under the block."""
        for k, line in enumerate(lines):
            self.filters.append(
                drawtext(self.text_file(f"{name}{k}.txt", line), font, size, x="(w-text_w)/2", y=y,
                         border=max(2, size // 14), shadow=max(1, size // 25), alpha=alpha, enable=enable)
            )  # fmt: skip
            y += round(size * _LINE_SPACING)
        return y


def overlay_filters(spec: FinalSpec, fonts_dir: Path, workdir: Path) -> Overlays:
    """The title and the artist line (over the first ``title_seconds``, faded) and the watermark."""
    w, h = spec.width, spec.height
    out = Overlays(workdir)
    bold, regular = font_file(fonts_dir, bold=True), font_file(fonts_dir, bold=False)
    ts = spec.title_seconds
    if ts > 0 and (spec.title.strip() or spec.artist.strip()):
        fade_in = min(TITLE_FADE_IN, ts / 3)
        fade_out = min(TITLE_FADE_OUT, ts / 3)
        alpha = (
            f"if(lt(t,{num(fade_in)}),t/{num(fade_in)},"
            f"if(gt(t,{num(ts - fade_out)}),max(0,({num(ts)}-t)/{num(fade_out)}),1))"
        )
        enable = f"lt(t,{num(ts)})"
        lines, size = fit_lines(spec.title, bold, round(0.048 * h), 0.84 * w, min_size=round(0.026 * h))
        y = out.block("title", lines, bold, size, round(spec.title_top * h), alpha=alpha, enable=enable)
        byline = spec.artist.strip() + (f", {spec.year}" if spec.year else "")
        if byline:
            a_lines, a_size = fit_lines(byline, regular, round(0.03 * h), 0.84 * w, max_lines=2)
            out.block("artist", a_lines, regular, a_size, y + round(0.012 * h), alpha=alpha, enable=enable)
    if spec.watermark and spec.watermark.strip():
        textfile = out.text_file("watermark.txt", " ".join(spec.watermark.split()))
        size = max(10, round(0.021 * h))
        out.filters.append(
            drawtext(textfile, bold, size, x=str(round(0.06 * w)), y=round(0.085 * h), color="white@0.6",
                     shadow=max(1, size // 18))
        )  # fmt: skip
    return out
