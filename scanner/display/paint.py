"""Screen -> pixels: fits the lines of a Screen to a panel's size and draws them with PIL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from scanner.display.screen import Line, Priority, Screen, Size, Tone
from scanner.display.typeface import font

# Share of the panel height per size, and the floor in pixels: below ~10 px a
# 1-bit DejaVu loses the marks that tell "Ă", "Â" and "A" apart.
_RATIO = {Size.HUGE: 0.20, Size.LARGE: 0.11, Size.NORMAL: 0.075, Size.SMALL: 0.055}
_FLOOR = {Size.HUGE: 18, Size.LARGE: 13, Size.NORMAL: 11, Size.SMALL: 10}
_MIN_PX = 9
# Bold strokes close up the counters and stacked marks of small 1-bit text.
_BOLD_FROM_PX = 12

RGB = tuple[int, int, int]
# Contrast of each pair is 7:1 or more (WCAG AAA), for daylight at arm's length.
_COLOURS: dict[Tone, tuple[RGB, RGB]] = {
    Tone.ACCEPT: ((0, 100, 0), (255, 255, 255)),
    Tone.REJECT: ((160, 0, 0), (255, 255, 255)),
    Tone.TEST: ((255, 210, 0), (0, 0, 0)),
    Tone.READY: ((0, 0, 0), (255, 255, 255)),
    Tone.WARN: ((0, 0, 0), (255, 200, 0)),
}


@dataclass(frozen=True, slots=True)
class Row:
    """One drawn row of text: a line, or part of a wrapped one."""

    text: str
    line: Line
    px: int
    width: int
    height: int
    top: int  # the text's bbox top below the origin (diacritics may reach above 0)

    @property
    def font(self) -> ImageFont.FreeTypeFont:
        """The font this row is drawn in."""
        return _face(self.line, self.px)


@dataclass(frozen=True, slots=True)
class Layout:
    """Rows placed on a panel; `dropped` lists lines a small panel had no room for."""

    size: tuple[int, int]
    rows: tuple[tuple[Row, int, int], ...]  # (row, x, y of its bbox top)
    dropped: tuple[Line, ...]

    @property
    def text(self) -> str:
        """The laid-out lines as text, one per row."""
        return "\n".join(row.text for row, _, _ in self.rows)


def _face(line: Line, px: int) -> ImageFont.FreeTypeFont:
    return font(px, line.bold and px >= _BOLD_FROM_PX)


def _row(text: str, line: Line, px: int) -> Row:
    left, top, right, bottom = (int(v) for v in _face(line, px).getbbox(text))
    return Row(text, line, px, right - left, bottom - top, top)


def _wrap(line: Line, px: int, width: int) -> list[Row] | None:
    face = _face(line, px)
    parts: list[str] = []
    current = ""
    for word in line.text.split():
        joined = f"{current} {word}".strip()
        if face.getlength(joined) <= width:
            current = joined
        elif current and face.getlength(word) <= width:
            parts.append(current)
            current = word
        else:
            return None
    parts.append(current)
    return [_row(part, line, px) for part in parts]


def _fit_line(line: Line, px: int, width: int) -> list[Row]:
    """Shrink a little before wrapping (one row reads faster), then wrap; never clip a name."""
    for size in range(px, max(_MIN_PX, int(px * 0.8)) - 1, -1):
        single = _row(line.text, line, size)
        if single.width <= width:
            return [single]
    if line.size is not Size.HUGE:
        for size in range(px, _MIN_PX - 1, -1):
            rows = _wrap(line, size, width)
            if rows is not None:
                return rows
    for size in range(px, _MIN_PX - 1, -1):
        single = _row(line.text, line, size)
        if single.width <= width:
            return [single]
    return [_row(line.text, line, _MIN_PX)]  # wider than the panel: drawn clipped


def _attempts(lines: tuple[Line, ...]) -> Iterator[tuple[tuple[Line, ...], float]]:
    """Full screen first, then smaller text, then without footers and extras."""
    for keep in (Priority.FOOTER, Priority.USEFUL):
        for scale in (1.0, 0.9):
            yield tuple(line for line in lines if line.priority <= keep), scale
    for scale in (1.0, 0.9, 0.8, 0.7, 0.6):
        yield tuple(line for line in lines if line.priority is Priority.ESSENTIAL), scale


def layout(screen: Screen, size: tuple[int, int]) -> Layout:
    """Place the screen's lines on a panel of `size`, largest text that fits."""
    width, height = size
    margin = max(2, width // 40)
    gap = max(1, height // 40)
    inner = width - 2 * margin
    rows: list[Row] = []
    kept: tuple[Line, ...] = ()
    for kept, scale in _attempts(screen.lines):
        rows = []
        for line in kept:
            px = max(_FLOOR[line.size], round(_RATIO[line.size] * height))
            rows += _fit_line(line, max(_MIN_PX, round(px * scale)), inner)
        if sum(r.height for r in rows) + gap * (len(rows) - 1) <= height - 2:
            break
    total = sum(r.height for r in rows) + gap * (len(rows) - 1)
    y = max(0, (height - total) // 2)
    placed = []
    for row in rows:
        placed.append((row, max(margin, (width - row.width) // 2), y))
        y += row.height + gap
    dropped = tuple(line for line in screen.lines if line not in kept)
    return Layout(size, tuple(placed), dropped)


def paint(screen: Screen, size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """The screen as an image of `size` in `mode` ("RGB" for HDMI/PNG, "1" for a mono OLED)."""
    placed = layout(screen, size)
    background, ink = _ink(screen.tone, mode)
    image = Image.new(mode, size, background)
    draw = ImageDraw.Draw(image)
    if mode == "1" and screen.tone in (Tone.TEST, Tone.WARN):
        # No colour on a mono panel: a frame sets a test card and a warning apart.
        draw.rectangle((0, 0, size[0] - 1, size[1] - 1), outline=ink)
    for row, x, y in placed.rows:
        left = row.font.getbbox(row.text)[0]
        draw.text((x - left, y - row.top), row.text, font=row.font, fill=ink)
    return image


def _ink(tone: Tone, mode: str) -> tuple[int | RGB, int | RGB]:
    if mode == "1":
        # A refusal lights the whole panel: unmistakable at a glance on a mono OLED.
        return (1, 0) if tone is Tone.REJECT else (0, 1)
    if mode == "L":
        background, ink = _COLOURS[tone]
        return (sum(background) // 3, sum(ink) // 3)
    return _COLOURS[tone]
