"""The camera package's error tree: what a frame source or an image file can fail with."""

from __future__ import annotations


class SourceError(Exception):
    """A frame source failed (unplugged, stream broken, garbage frame); close and reopen it."""


class SourceEnded(SourceError):  # noqa: N818 - it is an end, not a fault
    """A finite source (file, replay, synthetic run) has no more frames."""


class ImageError(ValueError):
    """An image file cannot be used as a grey frame; the message says why, in one line."""
