"""A frame source that replays a directory of images or a video file at a chosen frame rate."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np

from scanner.camera.base import Frame, checked_gray
from scanner.camera.config import ReplayConfig
from scanner.camera.images import load_gray, to_gray
from scanner.errors import ImageError, SourceEnded, SourceError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"})


class ReplaySource:
    """Plays `config.path`; a file that is not an image fails the source, naming the file."""

    def __init__(self, config: ReplayConfig) -> None:
        self.config = config
        self._images: list[Path] = []
        self._video: cv2.VideoCapture | None = None
        self._index = 0
        self._open = False
        self._next_at = 0.0
        self._closing = threading.Event()

    def open(self) -> None:
        """List the images (or open the video) and start from the first frame."""
        self.close()
        self._closing.clear()
        path = self.config.path
        if path.is_dir():
            self._images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self._images:
                raise SourceError(f"replay: no images in {path.name}")
        elif path.is_file():
            video = cv2.VideoCapture(str(path))
            if not video.isOpened():
                raise SourceError(f"replay: cannot open video {path.name}")
            self._video = video
        else:
            raise SourceError(f"replay: {path} does not exist")
        self._index = 0
        self._next_at = time.monotonic()
        self._open = True

    def close(self) -> None:
        """Stop replaying and wake a paced read."""
        self._open = False
        self._closing.set()
        if self._video is not None:
            self._video.release()
            self._video = None

    def read(self) -> Frame:
        """The next image or video frame, paced when realtime."""
        if not self._open:
            raise SourceError("replay source is not open")
        if self.config.realtime:
            # Wait on an event, not sleep, so close() from another thread ends the wait.
            delay = self._next_at - time.monotonic()
            if delay > 0 and self._closing.wait(delay):
                raise SourceError("replay source closed")
            self._next_at = max(self._next_at + 1.0 / self.config.fps, time.monotonic())
        gray = self._next_image() if self._video is None else self._next_video_frame()
        frame = Frame(gray=gray, timestamp=time.monotonic(), sequence=self._index)
        self._index += 1
        return frame

    def _next_image(self) -> np.ndarray:
        n = len(self._images)
        if self._index >= n and not self.config.loop:
            raise SourceEnded("replay finished")
        path = self._images[self._index % n]
        try:
            return load_gray(path)
        except ImageError as e:
            raise SourceError(f"replay: {path.name}: {e}") from e

    def _next_video_frame(self) -> np.ndarray:
        assert self._video is not None
        ok, pixels = self._video.read()
        if not ok and self.config.loop and self._index > 0:
            self._video.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, pixels = self._video.read()
        if not ok:
            raise SourceEnded("replay video finished")
        try:
            return checked_gray(to_gray(pixels), "replay video")
        except ImageError as e:
            raise SourceError(f"replay video: {e}") from e
