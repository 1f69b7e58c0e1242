"""The Raspberry Pi camera through picamera2: the grey Y plane of a small YUV420 stream."""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from scanner.camera.base import Frame, checked_gray
from scanner.camera.config import AE_MODES, AF_RANGES, PicamConfig
from scanner.errors import SourceError

_log = logging.getLogger(__name__)

# libcamera enum values, as ints so this module needs no libcamera import to build controls
# (picamera2 accepts ints for enum controls): AfModeEnum.Manual/Continuous, AfSpeedEnum.Fast,
# AfRange and AeExposureMode values are in scanner.camera.config, with the settings.
AF_MANUAL, AF_CONTINUOUS = 0, 2
AF_SPEED_FAST = 1


def _import_picamera2() -> ModuleType:
    # Imported here only: importing picamera2 needs libcamera, present only on a Pi.
    return importlib.import_module("picamera2")


class PicamSource:
    """Frames from a Pi camera; `picamera2_module` lets tests pass a stand-in module."""

    def __init__(
        self,
        config: PicamConfig,
        *,
        picamera2_module: Callable[[], Any] = _import_picamera2,
    ) -> None:
        self.config = config
        self._load = picamera2_module
        self._module: Any = None
        self._cam: Any = None
        self._index = 0

    def open(self) -> None:
        """Load picamera2 and start the YUV stream."""
        self.close()
        try:
            self._module = self._load()
            cam = self._module.Picamera2(self.config.camera)
        except (ImportError, RuntimeError, IndexError, OSError) as e:
            raise SourceError(f"picam: cannot open camera {self.config.camera}: {e}") from e
        try:
            w, h = self.config.size
            config = cam.create_video_configuration(
                main={"size": self.config.main_size},
                lores={"size": (w, h), "format": "YUV420"},
                # queue=False: never hand back a frame completed before the capture call.
                queue=False,
                buffer_count=4,
                controls=self.controls(cam.camera_controls),
                display=None,
                encode=None,
            )
            cam.configure(config)
            cam.start()
        except (RuntimeError, ValueError, OSError) as e:
            cam.close()
            raise SourceError(f"picam: cannot start camera: {e}") from e
        self._cam = cam
        self._index = 0

    def controls(self, available: dict[str, Any]) -> dict[str, Any]:
        """The controls to set, given the camera's `camera_controls`."""
        period_us = round(1_000_000 / self.config.fps)
        out: dict[str, Any] = {"FrameDurationLimits": (period_us, period_us)}
        if "AeExposureMode" in available:
            out["AeExposureMode"] = AE_MODES[self.config.exposure_mode]
        if self.config.max_exposure_us is not None and "ExposureTime" in available:
            # libcamera has no AE ceiling control; a fixed exposure is the only hard cap.
            out["ExposureTime"] = self.config.max_exposure_us
        # Camera Module 3 has AF, which picamera2 leaves off; older modules are fixed-focus.
        if "AfMode" in available:
            if self.config.focus == "auto":
                out["AfMode"] = AF_CONTINUOUS
                out["AfSpeed"] = AF_SPEED_FAST
                out["AfRange"] = AF_RANGES[self.config.af_range]
            else:
                out["AfMode"] = AF_MANUAL
                out["LensPosition"] = self.config.lens_position
        return out

    def refocus(self) -> None:
        """Toggle AF off and on: continuous AF can stick after fast near/far changes."""
        cam = self._cam
        if cam is not None and self.config.focus == "auto" and "AfMode" in cam.camera_controls:
            self._cam.set_controls({"AfMode": AF_MANUAL})
            self._cam.set_controls({"AfMode": AF_CONTINUOUS})

    def read(self) -> Frame:
        """The grey Y plane of the next YUV frame."""
        if self._cam is None or self._module is None:
            raise SourceError("picam source is not open")
        w, h = self.config.size
        try:
            # The first h rows of a YUV420 buffer are the Y (grey) plane. Copy it and release
            # the request at once: a held request stalls the camera pipeline.
            with (
                self._cam.captured_request() as request,
                self._module.MappedArray(request, "lores") as mapped,
            ):
                plane = mapped.array[:h, :w]
                gray = np.array(plane, dtype=np.uint8, copy=True) if _ok(plane) else plane
        except (RuntimeError, OSError, TimeoutError, KeyError) as e:
            raise SourceError(f"picam: capture failed: {e}") from e
        if checked_gray(gray, "picam").shape != (h, w):
            raise SourceError(f"picam: lores frame is {gray.shape}, expected {(h, w)}")
        frame = Frame(gray, time.monotonic(), self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        """Stop and close the camera; safe when not open."""
        cam, self._cam = self._cam, None
        if cam is not None:
            try:
                cam.stop()
                cam.close()
            except (RuntimeError, OSError) as e:
                _log.warning("picam: closing the camera failed: %s", e)


def _ok(plane: object) -> bool:
    return isinstance(plane, np.ndarray) and plane.dtype == np.uint8 and plane.ndim == 2
