"""A frame source that renders QR passes as a traveller presents them: moving, tilted, blurred."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

from scanner.camera.base import Frame
from scanner.camera.config import SyntheticConfig
from scanner.errors import SourceEnded, SourceError


@dataclass(frozen=True, slots=True)
class Pose:
    """Where and how the code is shown in one frame."""

    centre: tuple[float, float]  # fraction of frame width/height
    height: float  # code side as a fraction of frame height
    angle: float  # in-plane rotation, degrees
    tilt: float  # perspective: 0 is flat to the camera, 0.3 is a strongly tilted phone
    motion: float  # motion-blur length in pixels
    defocus: float  # Gaussian sigma in pixels
    glare: float  # 0..1 strength of a specular highlight on the screen


class SyntheticSource:
    """Renders a deterministic presentation of `config.texts`; frame i is the same on every run."""

    def __init__(self, config: SyntheticConfig) -> None:
        self.config = config
        self._cards = [card(t, config.dark_mode) for t in config.texts]
        self._background = background(config.size, config.seed)
        self._rng = np.random.default_rng(config.seed)
        self._index = 0
        self._open = False
        self._next_at = 0.0
        self._closing = threading.Event()

    @property
    def period(self) -> int:
        """Frames per pass: the gap, then the presentation."""
        return self.config.gap_frames + self.config.present_frames

    @property
    def length(self) -> int:
        """Frames in one run through all texts."""
        return self.period * len(self.config.texts)

    def open(self) -> None:
        """Start the scene again from its seed."""
        self._index = 0
        self._rng = np.random.default_rng(self.config.seed)
        self._closing.clear()
        self._next_at = time.monotonic()
        self._open = True

    def close(self) -> None:
        """Stop rendering and wake a paced read."""
        self._open = False
        self._closing.set()

    def text_at(self, index: int) -> str | None:
        """The text in view at frame `index`, or None during a gap."""
        i = index % self.length if self.config.loop else index
        if i >= self.length:
            return None
        k = i % self.period - self.config.gap_frames
        return self.config.texts[i // self.period] if k >= 0 else None

    def pose_at(self, index: int) -> Pose | None:
        """How the code is held at frame `index`, or None during a gap."""
        i = index % self.length if self.config.loop else index
        k = i % self.period - self.config.gap_frames
        if i >= self.length or k < 0:
            return None
        return presentation_pose(k, self.config.present_frames, self.config.glare)

    def render(self, index: int) -> np.ndarray:
        """The grey frame at `index` (sensor noise drawn from the source's generator)."""
        frame = self._background.copy()
        pose = self.pose_at(index)
        if pose is not None:
            i = index % self.length if self.config.loop else index
            frame = place(frame, self._cards[i // self.period], pose)
        noise = self._rng.normal(0.0, 3.0, frame.shape).astype(np.float32)
        noisy: np.ndarray = np.clip(frame.astype(np.float32) + noise, 0, 255)
        return noisy.astype(np.uint8)

    def read(self) -> Frame:
        """The next rendered frame of the scene."""
        if not self._open:
            raise SourceError("synthetic source is not open")
        if not self.config.loop and self._index >= self.length:
            raise SourceEnded("synthetic presentation finished")
        if self.config.realtime:
            # Wait on an event, not sleep, so close() from another thread ends the wait.
            delay = self._next_at - time.monotonic()
            if delay > 0 and self._closing.wait(delay):
                raise SourceError("synthetic source closed")
            self._next_at = max(self._next_at + 1.0 / self.config.fps, time.monotonic())
        gray = self.render(self._index)
        frame = Frame(gray=gray, timestamp=time.monotonic(), sequence=self._index)
        self._index += 1
        return frame


def presentation_pose(k: int, frames: int, glare: bool = True) -> Pose:
    """Frame `k` of a presentation: the phone swings in, settles, then is pulled away."""
    t = k / max(1, frames - 1)
    if t < 0.35:  # moving in from the lower right, fast then slowing, tilted and blurred
        u = t / 0.35
        ease = 1.0 - (1.0 - u) ** 2
        speed = 2.0 * (1.0 - u)  # derivative of ease, in frame-fractions per phase
        return Pose(
            centre=(0.95 - 0.45 * ease, 0.9 - 0.4 * ease),
            height=0.3 + 0.2 * ease,
            angle=25.0 * (1.0 - ease),
            tilt=0.35 * (1.0 - ease) + 0.08,
            motion=4.0 + 30.0 * speed / 2.0,
            defocus=2.5 * (1.0 - ease) + 0.6,
            glare=0.0,
        )
    if t < 0.85:  # held in front of the camera: a trembling hand, a glare spot on the glass
        wob = math.sin(k * 1.7)
        return Pose(
            centre=(0.5 + 0.01 * wob, 0.5 + 0.01 * math.cos(k * 1.3)),
            height=0.5,
            angle=3.0 * wob,
            tilt=0.08,
            motion=1.5,
            defocus=0.6,
            glare=0.55 if glare else 0.0,
        )
    u = (t - 0.85) / 0.15  # pulled away to the left, accelerating
    return Pose(
        centre=(0.5 - 0.6 * u * u, 0.5 + 0.1 * u),
        height=0.5,
        angle=-10.0 * u,
        tilt=0.08 + 0.2 * u,
        motion=2.0 + 30.0 * u,
        defocus=0.6 + 2.0 * u,
        glare=0.0,
    )


def background(size: tuple[int, int], seed: int) -> np.ndarray:
    """A checkpoint-like scene: smooth shading, a few hard-edged objects, some texture."""
    w, h = size
    rng = np.random.default_rng(seed + 1000)
    coarse = rng.normal(120.0, 35.0, (max(2, h // 40), max(2, w // 40))).astype(np.float32)
    img = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    for _ in range(10):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        dx, dy = int(rng.integers(15, w // 3)), int(rng.integers(15, h // 3))
        cv2.rectangle(img, (x, y), (x + dx, y + dy), float(rng.integers(20, 235)), -1)
    for _ in range(6):
        p = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        q = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.line(img, p, q, float(rng.integers(0, 255)), int(rng.integers(1, 4)))
    return np.clip(img, 0, 255).astype(np.uint8)


def render_code(text: str, size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """One steady frame with `text` held flat in the middle (benchmarks, tests)."""
    steady = Pose((0.5, 0.5), 0.5, 4.0, 0.06, 1.0, 0.6, 0.0)
    return place(background(size, seed), card(text, dark=False), steady)


def card(text: str, dark: bool) -> np.ndarray:
    """The phone screen: the code with its quiet zone, inside a dark bezel."""
    qr = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="Q")
    img = np.asarray(qr.to_image(scale=8), dtype=np.uint8)
    if dark:
        img = 255 - img  # dark-mode wallet apps show light modules on black
        img = np.where(img > 128, 225, 30).astype(np.uint8)
    else:
        img = np.where(img > 128, 235, 25).astype(np.uint8)  # a screen is never pure white
    bezel = img.shape[0] // 10
    return cv2.copyMakeBorder(img, bezel, bezel, bezel, bezel, cv2.BORDER_CONSTANT, value=10)


def place(frame: np.ndarray, card: np.ndarray, pose: Pose) -> np.ndarray:
    """Warp `card` into `frame` at `pose`, then blur and add glare like a camera would."""
    h, w = frame.shape
    side = pose.height * h
    cx, cy = pose.centre[0] * w, pose.centre[1] * h
    a = math.radians(pose.angle)
    near, far = 1.0 + pose.tilt / 2.0, 1.0 - pose.tilt / 2.0  # the left edge leans away
    half = side / 2.0
    local = [(-half * far, -half * far), (half * near, -half * near)]
    local += [(half * near, half * near), (-half * far, half * far)]
    dst = np.array(
        [
            (cx + x * math.cos(a) - y * math.sin(a), cy + x * math.sin(a) + y * math.cos(a))
            for x, y in local
        ],
        dtype=np.float32,
    )
    ch, cw = card.shape
    src = np.array([(0, 0), (cw, 0), (cw, ch), (0, ch)], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    warped: np.ndarray = cv2.warpPerspective(card, m, (w, h), flags=cv2.INTER_AREA)
    warped = warped.astype(np.float32)
    cover: np.ndarray = cv2.warpPerspective(
        np.ones(card.shape, np.float32), m, (w, h), flags=cv2.INTER_AREA
    )
    if pose.glare > 0:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        gx, gy, r = cx + 0.15 * side, cy - 0.1 * side, 0.18 * side
        spot = np.exp(-(((xx - gx) / (1.6 * r)) ** 2 + ((yy - gy) / r) ** 2))
        warped = warped + (255.0 - warped) * pose.glare * spot
    # Blur only the phone (the hand moves, the scene does not), then lay it over the scene.
    if pose.motion >= 2.0:
        k = int(pose.motion) | 1
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k  # a sideways swipe
        warped = cv2.filter2D(warped * cover, -1, kernel)
        cover = cv2.filter2D(cover, -1, kernel)
        warped = warped / np.maximum(cover, 1e-3)
    if pose.defocus > 0:
        warped = cv2.GaussianBlur(warped * cover, (0, 0), pose.defocus)
        cover = cv2.GaussianBlur(cover, (0, 0), pose.defocus)
        warped = warped / np.maximum(cover, 1e-3)
    out: np.ndarray = np.clip(frame.astype(np.float32) * (1.0 - cover) + warped * cover, 0, 255)
    return out.astype(np.uint8)
