"""The small-panel backend: an SSD1306/SH1106 OLED on I2C through luma.oled, 1 bit per pixel."""

from __future__ import annotations

from typing import Any

from PIL import Image

from scanner.display.config import DisplayConfig
from scanner.display.paint import paint
from scanner.display.screen import Screen
from scanner.errors import DisplayError


class OledSurface:
    """Draws on any luma device (a real OLED, or luma.core.device.dummy in tests)."""

    def __init__(self, device: Any) -> None:
        self._device = device
        self.image: Image.Image | None = None  # the last frame sent: what the panel shows

    @property
    def size(self) -> tuple[int, int]:
        """The panel's size in pixels."""
        size: tuple[int, int] = self._device.size
        return size

    def draw(self, screen: Screen) -> None:
        """Draw `screen` on the panel."""
        self.image = paint(screen, self.size, self._device.mode)
        self._device.display(self.image)

    def close(self) -> None:
        """Blank the panel and release the bus."""
        self.image = None
        # luma's cleanup blanks the panel and releases the bus.
        self._device.cleanup()


def open_oled(config: DisplayConfig) -> OledSurface:
    """The configured OLED on its I2C bus; DisplayError when luma or the panel is missing."""
    try:
        # luma is the optional `display` extra: imported only when an OLED is configured.
        from luma.core.interface.serial import i2c  # type: ignore[import-untyped]  # noqa: PLC0415
        from luma.oled.device import sh1106, ssd1306  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError as exc:
        raise DisplayError("the oled backend needs luma.oled (pip install luma.oled)") from exc
    driver = {"ssd1306": ssd1306, "sh1106": sh1106}[config.oled_driver]
    try:
        serial = i2c(port=config.i2c_port, address=config.i2c_address)
        device = driver(
            serial, width=config.oled_width, height=config.oled_height, rotate=config.oled_rotate
        )
    except Exception as exc:
        # luma raises its own DeviceNotFoundError/DevicePermissionError, or OSError.
        where = f"i2c-{config.i2c_port}@{config.i2c_address:#04x}"
        raise DisplayError(f"{config.oled_driver} on {where}: {exc}") from exc
    return OledSurface(device)
