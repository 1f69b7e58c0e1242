"""Frame sources (Pi camera, OpenCV, replay, synthetic) behind one interface, and the grabber."""

from __future__ import annotations

from scanner.camera.base import Frame, FrameSource
from scanner.camera.errors import ImageError, SourceEnded, SourceError

__all__ = ["Frame", "FrameSource", "ImageError", "SourceEnded", "SourceError"]
