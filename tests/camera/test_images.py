"""Image files: every bad input is a clear ImageError, never a crash or a huge allocation."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from scanner.camera.images import load_gray, to_gray
from scanner.decide.decode import Decoder
from scanner.errors import ImageError


def _write(path: Path, pixels: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), pixels)
    return path


def test_not_an_image_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_text("hello")
    with pytest.raises(ImageError, match="not an image"):
        load_gray(tmp_path / "x.png")


def test_empty_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "e.jpg").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_gray(tmp_path / "e.jpg")


def test_missing_file_is_an_image_error(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="cannot read"):
        load_gray(tmp_path / "nope.png")


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_file_is_refused(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(0)
    full = _write(tmp_path / f"full{suffix}", rng.integers(0, 255, (200, 200), dtype=np.uint8))
    data = full.read_bytes()
    (tmp_path / f"cut{suffix}").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated"):
        load_gray(tmp_path / f"cut{suffix}")


def test_one_pixel_image_decodes_to_nothing(tmp_path: Path) -> None:
    gray = load_gray(_write(tmp_path / "one.png", np.zeros((1, 1), np.uint8)))
    assert gray.shape == (1, 1)
    assert Decoder().decode(gray).codes == ()


def test_huge_image_is_refused_from_its_header_before_decoding(tmp_path: Path) -> None:
    # A 20000x20000 PNG header with a tiny body: refused without allocating 400 MB.
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk
    png += struct.pack(">I", zlib.crc32(chunk)) + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    (tmp_path / "huge.png").write_bytes(png)
    with pytest.raises(ImageError, match="pixel limit"):
        load_gray(tmp_path / "huge.png")


def test_sixteen_bit_and_four_channel_images_are_converted(tmp_path: Path) -> None:
    deep = np.full((10, 10), 4000, np.uint16)
    deep[0, 0] = 0
    gray16 = load_gray(_write(tmp_path / "deep.png", deep))
    assert gray16.dtype == np.uint8
    assert gray16.max() == 255
    rgba = np.zeros((10, 10, 4), np.uint8)  # fully transparent black: shown as white
    gray4 = load_gray(_write(tmp_path / "alpha.png", rgba))
    assert gray4.shape == (10, 10)
    assert gray4.min() == 255


def test_arrays_of_unsupported_kinds_are_refused_clearly() -> None:
    with pytest.raises(ImageError, match="float"):
        to_gray(np.zeros((4, 4), np.float64))
    with pytest.raises(ImageError, match="2-channel"):
        to_gray(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ImageError, match="not an image"):
        to_gray(np.zeros((4,), np.uint8))
