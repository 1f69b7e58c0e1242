"""What the panels show: luma's dummy OLED, the HDMI image and the tty text buffer."""

from __future__ import annotations

import io

import pytest

pytest.importorskip("luma.core.device", reason="needs the display extra (luma.oled)")
from luma.core.device import dummy
from PIL import Image, ImageChops
from support.display import NOW, Passes, passes

from scanner.display.console import ConsoleSurface
from scanner.display.oled import OledSurface
from scanner.display.paint import layout, paint
from scanner.display.screen import (
    Kind,
    Line,
    Locale,
    Priority,
    Screen,
    Size,
    Tone,
    UnitStatus,
    compose,
)
from scanner.display.textview import render_text
from scanner.display.typeface import font
from scanner.model import ClockState, Fill, Health, Reason, TrustState

VI = Locale("vi", 420, "CP-HN-01")
EN = Locale("en", 420, "CP-HN-01")
OLED_SIZES = [(128, 64), (128, 128)]


@pytest.fixture(scope="module")
def p() -> Passes:
    return passes()


def ink(image: Image.Image) -> int:
    """Pixels that differ from the top-left (background) pixel."""
    background = Image.new(image.mode, image.size, image.getpixel((0, 0)))
    diff = ImageChops.difference(image.convert("L"), background.convert("L"))
    return sum(diff.histogram()[1:])


def test_font_has_vietnamese_glyphs() -> None:
    face = font(24, True)
    for letter, base in (("Ễ", "E"), ("Ợ", "O"), ("Ă", "A"), ("Đ", "D"), ("ữ", "u")):
        mask = face.getmask(letter)
        assert mask.getbbox() is not None, letter
        assert bytes(mask) != bytes(face.getmask(base)), letter
    # A missing glyph draws as the same "notdef" box for any code point.
    assert bytes(face.getmask("Ễ")) != bytes(face.getmask("Ợ"))


def test_oled_accept_shows_every_essential_line(p: Passes) -> None:
    device = dummy(width=128, height=64, mode="1")
    OledSurface(device).draw(compose(p.verdict("valid"), VI, NOW))
    assert device.image.size == (128, 64)
    assert ink(device.image) > 300
    placed = layout(compose(p.verdict("valid"), VI, NOW), (128, 64))
    assert "HỢP LỆ" in placed.text
    assert "NGUYỄN VĂN AN" in placed.text  # one row: a name is never split or clipped
    assert "CCCD •••• •••• 1234" in placed.text
    assert "31/12/2026" in placed.text
    assert all(line.priority is not Priority.ESSENTIAL for line in placed.dropped)


@pytest.mark.parametrize("size", OLED_SIZES)
@pytest.mark.parametrize("locale", [VI, EN])
@pytest.mark.parametrize("reason", list(Reason))
def test_oled_reject_fits_word_and_reason(
    p: Passes, size: tuple[int, int], locale: Locale, reason: Reason
) -> None:
    screen = compose(p.for_reason(reason), locale, NOW)
    placed = layout(screen, size)
    words = " ".join(row.text for row, _, _ in placed.rows)
    assert screen.lines[0].text in words
    assert " ".join(screen.lines[1].text.split()) in words
    for row, x, y in placed.rows:
        assert x >= 0, row.text
        assert x + row.width <= size[0], row.text
        assert y >= 0, row.text
        assert y + row.height <= size[1], row.text


def test_oled_refusal_lights_the_whole_panel(p: Passes) -> None:
    device = dummy(width=128, height=64, mode="1")
    surface = OledSurface(device)
    surface.draw(compose(p.verdict("revoked"), EN, NOW))
    assert device.image.convert("L").getpixel((0, 0)) == 255  # white background: inverted
    surface.draw(compose(p.verdict("valid"), EN, NOW))
    assert device.image.convert("L").getpixel((0, 0)) == 0


def test_oled_diacritics_change_what_is_drawn() -> None:
    # Same words with and without marks: the marks must reach the panel.
    def drawn(text: str) -> Image.Image:
        return paint(Screen(Kind.STATUS, Tone.READY, (Line(text, Size.LARGE),)), (128, 64), "1")

    assert ink(ImageChops.difference(drawn("NGUYỄN VĂN AN"), drawn("NGUYEN VAN AN"))) > 10


def test_oled_close_blanks_the_panel(p: Passes) -> None:
    device = dummy(width=128, height=64, mode="1")
    surface = OledSurface(device)
    surface.draw(compose(p.verdict("valid"), EN, NOW))
    surface.close()
    assert device.image.convert("L").getbbox() is None  # every pixel off


def test_hdmi_image_is_high_contrast_and_full_size(p: Passes) -> None:
    image = paint(compose(p.verdict("valid"), VI, NOW), (800, 480), "RGB")
    assert image.size == (800, 480)
    assert image.getpixel((0, 0)) == (0, 100, 0)
    assert (255, 255, 255) in {c for _, c in image.getcolors(1 << 16) or []}
    placed = layout(compose(p.verdict("valid"), VI, NOW), (800, 480))
    assert placed.dropped == ()
    assert placed.rows[0][0].height > 60  # the verdict word is large


def test_console_text_buffer_shows_name_and_diacritics(p: Passes) -> None:
    stream = io.StringIO()
    surface = ConsoleSurface(stream, size=(40, 12))
    surface.draw(compose(p.verdict("valid"), VI, NOW))
    assert "HỢP LỆ" in surface.text
    assert "NGUYỄN VĂN AN" in surface.text
    assert "CCCD •••• •••• 1234" in surface.text
    assert all(len(row) <= 40 for row in surface.text.split("\n"))
    assert len(surface.text.split("\n")) == 12
    assert "\x1b[1;97;42m" in stream.getvalue()  # white on green, filled to the edges


@pytest.mark.parametrize("reason", list(Reason))
def test_console_text_buffer_shows_each_reason(p: Passes, reason: Reason) -> None:
    screen = compose(p.for_reason(reason), EN, NOW)
    text = render_text(screen, 40, 12)
    assert "REFUSED" in text
    assert " ".join(screen.lines[1].text.split()) in " ".join(text.split())


def test_console_idle_and_degraded_screens() -> None:
    ready = render_text(compose(UnitStatus(), VI, NOW), 40, 12)
    assert "SẴN SÀNG" in ready
    assert "Chốt CP-HN-01" in ready
    degraded = UnitStatus(Health(True, TrustState.STALE, ClockState.SYNCED, Fill.OK), NOW - 7200)
    text = render_text(compose(degraded, EN, NOW), 40, 12)
    assert "READY" in text
    assert "Trust data stale" in text
    assert "Offline for 2 h 0 min" in text


def test_console_close_restores_the_terminal(p: Passes) -> None:
    stream = io.StringIO()
    surface = ConsoleSurface(stream, size=(40, 12))
    surface.draw(compose(p.verdict("valid"), VI, NOW))
    surface.close()
    assert surface.text == ""
    assert stream.getvalue().endswith("\x1b[0m\x1b[2J\x1b[H\x1b[?25h")


def test_console_can_print_plain_framed_screens_for_the_demo(p: Passes) -> None:
    stream = io.StringIO()
    surface = ConsoleSurface(stream, size=(40, 12), full_screen=False)
    surface.draw(compose(p.verdict("valid"), EN, NOW))
    surface.close()
    out = stream.getvalue()
    assert "\x1b" not in out
    assert "|" + "NGUYỄN VĂN AN".center(40).rstrip().ljust(40) + "|" in out
