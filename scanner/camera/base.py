"""The frame source interface every camera adapter implements, and the Frame it yields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from scanner.errors import SourceError


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One grey image from a source: 2-D uint8 pixels, when it was captured, its number."""

    gray: np.ndarray
    timestamp: float  # time.monotonic() at capture, so it compares with the decide clock
    sequence: int  # counts from 0 at each open(); gaps mean the source dropped frames


@runtime_checkable
class FrameSource(Protocol):
    """A camera, file or generator of grey frames.

    `open()` after `close()` starts again (a reopened camera, a replay from the start).
    `read()` blocks until the next frame and raises `SourceError` when the source fails or
    `SourceEnded` when a finite source is done.
    """

    def open(self) -> None:
        """Start delivering frames; raises SourceError if the camera cannot open."""

    def read(self) -> Frame:
        """The next frame; raises SourceError when the source fails or ends."""

    def close(self) -> None:
        """Release the camera; safe to call more than once."""


def checked_gray(pixels: object, what: str) -> np.ndarray:
    """Return `pixels` if it is a usable grey frame, else raise SourceError naming `what`.

    A driver that hands back garbage must fail the source, never reach the decoder.
    """
    if not isinstance(pixels, np.ndarray):
        raise SourceError(f"{what}: got {type(pixels).__name__}, not an image array")
    if pixels.ndim != 2 or pixels.dtype != np.uint8:
        raise SourceError(f"{what}: got a {pixels.dtype} array of shape {pixels.shape}")
    if pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise SourceError(f"{what}: got an empty frame")
    return pixels
