"""Each frame source's settings, light to import: drivers (OpenCV, picamera2) load when opened."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# libcamera enum values as ints (AfRangeEnum, AeExposureModeEnum): picamera2 accepts them.
AF_RANGES = {"normal": 0, "macro": 1, "full": 2}
AE_MODES = {"normal": 0, "short": 1}


@dataclass(frozen=True, slots=True)
class PicamConfig:
    """How the Pi camera is set up for scanning."""

    camera: int = 0
    size: tuple[int, int] = (640, 480)  # the lores stream the decoder reads
    main_size: tuple[int, int] = (1280, 720)  # the ISP needs a main stream at least as big
    fps: float = 15.0  # fixed by FrameDurationLimits, which also caps the exposure time
    focus: str = "auto"  # "auto": continuous AF if the camera has it; "fixed": lens_position
    lens_position: float = 5.0  # dioptres for fixed focus; 5.0 is about 20 cm
    af_range: str = "macro"  # a pass is shown at 10-40 cm
    exposure_mode: str = "short"  # favour short exposures: a moving hand blurs less
    max_exposure_us: int | None = None  # a hard cap; None lets the frame duration cap it

    def __post_init__(self) -> None:
        if self.focus not in ("auto", "fixed"):
            raise ValueError(f"focus must be 'auto' or 'fixed', not {self.focus!r}")
        if self.af_range not in AF_RANGES:
            raise ValueError(f"af_range must be one of {sorted(AF_RANGES)}")
        if self.exposure_mode not in AE_MODES:
            raise ValueError(f"exposure_mode must be one of {sorted(AE_MODES)}")
        if not 1.0 <= self.fps <= 120.0:
            raise ValueError("fps must be between 1 and 120")


@dataclass(frozen=True, slots=True)
class OpenCVConfig:
    """`target` is a device index ("0"), a file path or an rtsp:// URL."""

    target: str = "0"
    size: tuple[int, int] | None = (640, 480)  # asked of webcams; files and streams ignore it
    fps: float | None = None


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    """A directory of images (sorted by name) or one video file, played at `fps`."""

    path: Path
    fps: float = 15.0
    realtime: bool = True  # pace frames at `fps`; False replays as fast as they are read
    loop: bool = False

    def __post_init__(self) -> None:
        if self.fps <= 0:
            raise ValueError("replay fps must be positive")


@dataclass(frozen=True, slots=True)
class SyntheticConfig:
    """What to show: the pass texts in turn, each in view for `present_frames` after a gap."""

    texts: tuple[str, ...]
    size: tuple[int, int] = (640, 480)  # width, height
    fps: float = 15.0
    present_frames: int = 30
    gap_frames: int = 10  # empty frames before each presentation
    dark_mode: bool = False  # light modules on a dark screen
    glare: bool = True
    seed: int = 0
    realtime: bool = False  # pace read() at `fps` (demo); else as fast as called (tests, benches)
    loop: bool = False

    def __post_init__(self) -> None:
        if not self.texts:
            raise ValueError("synthetic source needs at least one text")
        if self.fps <= 0 or self.present_frames < 1 or self.gap_frames < 0:
            raise ValueError("synthetic fps and present_frames must be positive")
