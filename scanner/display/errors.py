"""The display's one fault: a configured panel that cannot be opened."""


class DisplayError(Exception):
    """A panel (tty, framebuffer, I2C OLED) could not be opened or its driver is missing."""
