"""A stand-in for the picamera2 module that follows its real API (picamera2/picamera2.py).

It fakes the other side of the adapter: a camera system whose frames, controls and failures a
test sets. Only what the adapter may call exists, with picamera2's signatures and checks.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np

# Camera Module 3 (imx708) controls: (min, max, default), as Picamera2.camera_controls gives.
CM3_CONTROLS: dict[str, tuple[Any, Any, Any]] = {
    "AfMode": (0, 2, 0),
    "AfSpeed": (0, 1, 0),
    "AfRange": (0, 2, 0),
    "LensPosition": (0.0, 15.0, 1.0),
    "AeExposureMode": (0, 3, 0),
    "ExposureTime": (26, 220_000_000, 20_000),
    "FrameDurationLimits": (33_333, 120_000_000, 33_333),
}
# Camera Module 2 (imx219): fixed focus, no AF controls at all.
CM2_CONTROLS = {k: v for k, v in CM3_CONTROLS.items() if not k.startswith(("Af", "Lens"))}


class FakeCameraSystem:
    """The world behind the fake module: one camera, its frames, and what was done to it."""

    def __init__(
        self,
        scene: Callable[[int], np.ndarray],
        controls: dict[str, tuple[Any, Any, Any]] | None = None,
    ) -> None:
        self.scene = scene  # frame number -> grey image the sensor sees (main-stream size)
        self.controls = dict(CM3_CONTROLS if controls is None else controls)
        self.present = True  # False: unplugged, Picamera2() and captures fail like on a Pi
        self.short_buffers = False  # True: buffers come back cut short (a driver fault)
        self.set_controls_log: list[dict[str, Any]] = []
        self.configs: list[dict[str, Any]] = []
        self.opened = 0
        self.closed = 0
        self.held_requests = 0
        self.lock = threading.Lock()

    def module(self) -> SimpleNamespace:
        system = self

        class BoundPicamera2(Picamera2):
            def __init__(
                self, camera_num: int = 0, verbose_console: Any = None, tuning: Any = None
            ):
                super().__init__(system, camera_num)

        return SimpleNamespace(Picamera2=BoundPicamera2, MappedArray=MappedArray)


class CompletedRequest:
    """A finished frame held by the application until release(), as in picamera2.request."""

    def __init__(self, picam2: Picamera2, frame: int) -> None:
        self.picam2 = picam2
        self.config = picam2.camera_config
        self.frame = frame
        self._released = False
        picam2.system.held_requests += 1

    def make_array(self, name: str) -> np.ndarray:
        return self.picam2.frame_array(name, self.frame)

    def get_metadata(self) -> dict[str, Any]:
        return {"SensorTimestamp": self.frame * 66_666_000, "ExposureTime": 10_000}

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.picam2.system.held_requests -= 1


class MappedArray:
    """picamera2.request.MappedArray: the buffer of one stream of a request, as an array."""

    def __init__(
        self, request: CompletedRequest, stream: str, reshape: bool = True, write: bool = True
    ) -> None:
        self._request = request
        self._stream = stream
        self._array: np.ndarray | None = None

    def __enter__(self) -> MappedArray:
        self._array = self._request.make_array(self._stream)
        return self

    def __exit__(self, *exc: object) -> None:
        self._array = None

    @property
    def array(self) -> np.ndarray:
        assert self._array is not None, "MappedArray used outside its with-block"
        return self._array


class Picamera2:
    """The subset of picamera2.Picamera2 the adapter uses, with the real signatures."""

    def __init__(self, system: FakeCameraSystem, camera_num: int = 0) -> None:
        if not system.present or camera_num != 0:
            raise RuntimeError("Camera __init__ sequence did not complete.")
        self.system = system
        self.camera_config: dict[str, Any] | None = None
        self.started = False
        self.is_open = True
        self._frame = 0
        self._controls: dict[str, Any] = {}
        system.opened += 1

    @property
    def camera_controls(self) -> dict[str, tuple[Any, Any, Any]]:
        return dict(self.system.controls)

    def create_video_configuration(
        self,
        main={},  # noqa: B006 - picamera2's own signature
        lores=None,
        raw={},  # noqa: B006
        transform=None,
        colour_space=None,
        buffer_count=6,
        controls={},  # noqa: B006
        display="main",
        encode="main",
        queue=True,
    ) -> dict[str, Any]:
        if not self.is_open:
            raise RuntimeError("Camera not opened")
        main = {"format": "XBGR8888", "size": (1280, 720), **main}
        if lores is not None:
            lores = {"format": "YUV420", "size": main["size"], **lores}
            for key in lores:
                if key not in ("format", "size"):
                    raise ValueError(
                        f"Bad key {key!r}: valid stream configuration keys are ('format', 'size')"
                    )
        controls = {"FrameDurationLimits": (33333, 33333)} | controls
        return {
            "use_case": "video",
            "transform": transform,
            "colour_space": colour_space,
            "buffer_count": buffer_count,
            "queue": queue,
            "main": main,
            "lores": lores,
            "raw": raw,
            "controls": controls,
            "display": display,
            "encode": encode,
        }

    def configure(self, camera_config: Any = "preview") -> None:
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        lores = camera_config["lores"]
        if lores is not None:
            if lores["format"] not in ("YUV420", "YVU420"):
                raise RuntimeError("lores stream must be YUV")
            (mw, mh), (lw, lh) = camera_config["main"]["size"], lores["size"]
            if lw > mw or lh > mh:
                raise RuntimeError("lores stream dimensions may not exceed main stream")
            if lw % 2 or lh % 2:
                raise RuntimeError("width and height should be even")
        self.camera_config = camera_config
        self._controls = dict(camera_config["controls"])
        self.system.configs.append(camera_config)

    def start(self, config: Any = None, show_preview: Any = False) -> None:
        if config is not None:
            self.configure(config)
        if self.camera_config is None:
            raise RuntimeError("Camera has not been configured")
        self.started = True

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        if self.is_open:
            self.stop()
            self.is_open = False
            self.system.closed += 1

    def set_controls(self, controls: dict[str, Any]) -> None:
        for name in controls:
            if name not in self.system.controls:
                raise RuntimeError(f"Control {name} is not advertised by libcamera")
        self._controls.update(controls)
        self.system.set_controls_log.append(dict(controls))

    def capture_request(
        self, wait: Any = None, signal_function: Any = None, flush: Any = None
    ) -> CompletedRequest:
        if not self.started:
            raise RuntimeError("Camera has not been started")
        if not self.system.present:
            # On a Pi an unplugged camera makes the job never finish: get_result times out.
            raise TimeoutError("frame did not arrive")
        request = CompletedRequest(self, self._frame)
        self._frame += 1
        return request

    @contextlib.contextmanager
    def captured_request(self, wait: Any = None, flush: Any = None) -> Iterator[CompletedRequest]:
        request = self.capture_request(wait=wait, flush=flush)
        try:
            yield request
        finally:
            request.release()

    def capture_array(
        self, name: str = "main", wait: Any = None, signal_function: Any = None
    ) -> np.ndarray:
        with self.captured_request() as request:
            return request.make_array(name)

    def frame_array(self, name: str, frame: int) -> np.ndarray:
        # The fake's own (not picamera2's): the pixels a request of `frame` holds.
        assert self.camera_config is not None
        stream = self.camera_config[name]
        if stream is None:
            raise KeyError(name)
        w, h = stream["size"]
        # The fake scales the scene to the stream size, as the ISP would.
        grey = cv2.resize(self.system.scene(frame), (w, h), interpolation=cv2.INTER_AREA)
        if stream["format"] in ("YUV420", "YVU420"):
            # picamera2 returns YUV420 as (h * 3 / 2, stride): Y rows, then U and V quarters.
            out = np.full((h * 3 // 2, w), 128, dtype=np.uint8)
            out[:h] = grey
            return out[: h // 4] if self.system.short_buffers else out
        return np.dstack([grey, grey, grey, np.full_like(grey, 255)])
