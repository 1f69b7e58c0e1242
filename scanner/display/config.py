"""The `[display]` section of scanner.toml: which screen the unit drives and how."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Backend = Literal["none", "console", "oled"]
Language = Literal["vi", "en"]

# luma.oled's SSD1306/SH1106 init tables know these sizes; others would fail at start.
OLED_SIZES = frozenset({(128, 64), (128, 128)})


@dataclass(frozen=True, slots=True)
class DisplayConfig:
    """Backend, language and timings of the officer display; `none` fits no screen."""

    backend: Backend = "none"
    language: Language = "vi"
    # Privacy: a name stays on screen this long, then the ready screen replaces it.
    clear_after_s: float = 5.0
    # Checkpoints keep local time; passes carry UTC. Vietnam is UTC+7 all year.
    utc_offset_min: int = 420
    # Console: "text" writes to a tty; "framebuffer" draws the image on an HDMI panel.
    console_output: Literal["text", "framebuffer"] = "text"
    tty: str = "/dev/tty1"
    framebuffer: str = "/dev/fb0"
    # OLED over I2C (luma.oled).
    oled_driver: Literal["ssd1306", "sh1106"] = "ssd1306"
    oled_width: int = 128
    oled_height: int = 64
    oled_rotate: int = 0
    i2c_port: int = 1
    i2c_address: int = 0x3C
    # A draw slower than this is reported (the display thread, never the scan, waits).
    slow_draw_ms: float = 500.0

    def __post_init__(self) -> None:
        for name in ("clear_after_s", "slow_draw_ms"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"display.{name}: must be a positive number")
        if self.clear_after_s > 60:
            raise ValueError("display.clear_after_s: at most 60 s (a name must not linger)")
        if not -720 <= self.utc_offset_min <= 840:
            raise ValueError("display.utc_offset_min: must be within -720..840")
        if (self.oled_width, self.oled_height) not in OLED_SIZES:
            sizes = ", ".join(f"{w}x{h}" for w, h in sorted(OLED_SIZES))
            raise ValueError(f"display.oled_width/oled_height: supported sizes are {sizes}")
        if self.oled_rotate not in (0, 1, 2, 3):
            raise ValueError("display.oled_rotate: must be 0, 1, 2 or 3 (quarter turns)")
        if not 0x03 <= self.i2c_address <= 0x77:
            raise ValueError("display.i2c_address: must be a 7-bit I2C address (0x03..0x77)")
        if self.i2c_port < 0:
            raise ValueError("display.i2c_port: must be a bus number such as 1")
