"""The Pi camera adapter against a stand-in that follows picamera2's real API."""

from __future__ import annotations

import numpy as np
import pytest

from camera.fake_picamera2 import CM2_CONTROLS, FakeCameraSystem
from scanner.camera.config import PicamConfig
from scanner.camera.picam import AF_CONTINUOUS, AF_MANUAL, PicamSource
from scanner.camera.synthetic import render_code
from scanner.errors import SourceError

SCENE = render_code("picam", (1280, 720))


def _source(system: FakeCameraSystem, **kw: object) -> PicamSource:
    return PicamSource(PicamConfig(**kw), picamera2_module=system.module)  # type: ignore[arg-type]


def test_frames_are_the_lores_y_plane_at_the_configured_size() -> None:
    system = FakeCameraSystem(lambda i: SCENE)
    source = _source(system)
    source.open()
    frame = source.read()
    assert frame.gray.shape == (480, 640)
    assert frame.gray.dtype == np.uint8
    config = system.configs[-1]
    assert config["lores"] == {"format": "YUV420", "size": (640, 480)}
    assert config["queue"] is False  # never a frame completed before the capture call
    assert config["controls"]["FrameDurationLimits"] == (66667, 66667)
    assert system.held_requests == 0  # the request was released at once
    source.close()


def test_continuous_autofocus_is_switched_on_when_the_camera_has_it() -> None:
    system = FakeCameraSystem(lambda i: SCENE)
    source = _source(system)
    source.open()
    assert system.configs[-1]["controls"]["AfMode"] == AF_CONTINUOUS
    source.refocus()
    assert system.set_controls_log == [{"AfMode": AF_MANUAL}, {"AfMode": AF_CONTINUOUS}]


def test_fixed_focus_sets_the_lens_position() -> None:
    system = FakeCameraSystem(lambda i: SCENE)
    _source(system, focus="fixed", lens_position=4.0).open()
    controls = system.configs[-1]["controls"]
    assert (controls["AfMode"], controls["LensPosition"]) == (AF_MANUAL, 4.0)


def test_a_camera_without_autofocus_gets_no_af_controls() -> None:
    system = FakeCameraSystem(lambda i: SCENE, controls=CM2_CONTROLS)
    _source(system).open()
    assert not any(k.startswith("Af") for k in system.configs[-1]["controls"])


def test_unplugged_camera_raises_the_source_error_and_can_be_reopened() -> None:
    system = FakeCameraSystem(lambda i: SCENE)
    source = _source(system)
    source.open()
    system.present = False
    with pytest.raises(SourceError, match="capture failed"):
        source.read()
    source.close()
    with pytest.raises(SourceError, match="cannot open"):
        source.open()
    system.present = True
    source.open()
    assert source.read().sequence == 0
    assert system.closed == 1


def test_garbage_from_the_driver_is_a_source_error() -> None:
    system = FakeCameraSystem(lambda i: np.zeros((720, 1280), np.uint8))
    source = _source(system, size=(640, 480))
    source.open()
    system.short_buffers = True
    with pytest.raises(SourceError, match="lores frame"):
        source.read()


def test_bad_configuration_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="focus"):
        PicamConfig(focus="blurry")


@pytest.mark.pi
def test_real_camera_delivers_grey_frames() -> None:
    pytest.importorskip("picamera2")
    source = PicamSource(PicamConfig())
    source.open()
    try:
        assert source.read().gray.shape == (480, 640)
    finally:
        source.close()
