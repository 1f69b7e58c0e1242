"""A frame source over OpenCV's VideoCapture: USB webcams, video files and RTSP streams."""

from __future__ import annotations

import time

import cv2

from scanner.camera.base import Frame, checked_gray
from scanner.camera.config import OpenCVConfig
from scanner.camera.images import to_gray
from scanner.errors import ImageError, SourceEnded, SourceError


class OpenCVSource:
    """Reads `config.target` through cv2.VideoCapture, converted to grey."""

    def __init__(self, config: OpenCVConfig) -> None:
        self.config = config
        self._cap: cv2.VideoCapture | None = None
        self._index = 0

    @property
    def _is_device(self) -> bool:
        return self.config.target.isdigit()

    def open(self) -> None:
        """Open the device, file or stream named in the settings."""
        self.close()
        target: int | str = int(self.config.target) if self._is_device else self.config.target
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            raise SourceError(f"opencv: cannot open {self._describe()}")
        # RTSP and webcams buffer several frames; keep one so a read is about now.
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        if self._is_device and self.config.size is not None:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.config.size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.config.size[1])
        if self._is_device and self.config.fps is not None:
            cap.set(cv2.CAP_PROP_FPS, self.config.fps)
        self._cap = cap
        self._index = 0

    def close(self) -> None:
        """Release the capture; safe when not open."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def read(self) -> Frame:
        """The next frame as grey pixels."""
        if self._cap is None:
            raise SourceError("opencv source is not open")
        ok, pixels = self._cap.read()
        if not ok or pixels is None:
            if self._is_device or "://" in self.config.target:
                raise SourceError(f"opencv: {self._describe()} stopped delivering frames")
            raise SourceEnded("opencv: video file finished")
        try:
            gray = checked_gray(to_gray(pixels), "opencv")
        except ImageError as e:
            raise SourceError(f"opencv: bad frame: {e}") from e
        frame = Frame(gray=gray, timestamp=time.monotonic(), sequence=self._index)
        self._index += 1
        return frame

    def _describe(self) -> str:
        # An RTSP URL can carry a password: name only the scheme and host.
        t = self.config.target
        if "://" in t:
            scheme, rest = t.split("://", 1)
            host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
            return f"{scheme}://{host}"
        return f"camera {t}" if self._is_device else "video file"
