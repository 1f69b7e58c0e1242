"""Frame sources: replay, synthetic, OpenCV files, the one-slot grabber and image loading."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp

from scanner.camera.base import Frame, FrameSource
from scanner.camera.config import OpenCVConfig, ReplayConfig, SyntheticConfig
from scanner.camera.latest import FrameGrabber, LatestSlot
from scanner.camera.opencv import OpenCVSource
from scanner.camera.replay import ReplaySource
from scanner.camera.synthetic import SyntheticSource, render_code
from scanner.decide.decode import Decoder
from scanner.errors import SourceEnded, SourceError

QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def _frame(seq: int) -> Frame:
    return Frame(np.zeros((4, 4), np.uint8), float(seq), seq)


def test_replay_plays_a_directory_in_name_order_then_ends(tmp_path: Path) -> None:
    for i in (2, 1):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((8, 8), i * 10, np.uint8))
    source = ReplaySource(ReplayConfig(tmp_path, realtime=False))
    source.open()
    assert [source.read().gray[0, 0] for _ in range(2)] == [10, 20]
    with pytest.raises(SourceEnded):
        source.read()
    source.close()
    source.open()  # reopenable: starts again
    assert source.read().sequence == 0


def test_replay_names_a_bad_file_in_its_error(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"not a png")
    source = ReplaySource(ReplayConfig(tmp_path, realtime=False))
    source.open()
    with pytest.raises(SourceError, match=r"a\.png"):
        source.read()


def test_replay_of_a_video_file_and_opencv_source_read_the_same_frames(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (320, 240))
    for i in range(5):
        writer.write(cv2.cvtColor(np.full((240, 320), 40 * i, np.uint8), cv2.COLOR_GRAY2BGR))
    writer.release()
    for source in (
        ReplaySource(ReplayConfig(path, realtime=False)),
        OpenCVSource(OpenCVConfig(str(path))),
    ):
        source.open()
        frames = [source.read() for _ in range(5)]
        assert [f.sequence for f in frames] == [0, 1, 2, 3, 4]
        assert all(f.gray.shape == (240, 320) and f.gray.dtype == np.uint8 for f in frames)
        with pytest.raises(SourceEnded):
            source.read()
        source.close()


def test_opencv_source_that_cannot_open_raises_the_source_error() -> None:
    with pytest.raises(SourceError):
        OpenCVSource(OpenCVConfig("/nonexistent/clip.mp4")).open()


def test_every_source_implements_the_protocol(tmp_path: Path) -> None:
    sources = [
        ReplaySource(ReplayConfig(tmp_path)),
        OpenCVSource(OpenCVConfig()),
        SyntheticSource(SyntheticConfig(("x",))),
    ]
    assert all(isinstance(s, FrameSource) for s in sources)


def test_synthetic_presentation_is_decoded_within_three_frames_of_the_bare_call() -> None:
    texts = ("HC1:PASS-ONE-0123456789", "HC1:PASS-TWO-ABCDEFGHIJ")
    for dark in (False, True):
        source = SyntheticSource(SyntheticConfig(texts, dark_mode=dark))
        source.open()
        decoder = Decoder()
        bare_first: dict[str, int] = {}
        ours_first: dict[str, int] = {}
        for i in range(source.length):
            frame = source.read()
            text = source.text_at(i)
            if text is None:
                continue
            bare = zxingcpp.read_barcodes(frame.gray, formats=QR)
            if any(b.text == text for b in bare):
                bare_first.setdefault(text, i)
            codes = decoder.decode(frame.gray).codes
            assert all(c.text in texts for c in codes)
            if codes and codes[0].text == text:
                ours_first.setdefault(text, i)
        assert set(bare_first) == set(texts)  # the bare call can read each pass at some point
        for text in texts:
            assert ours_first[text] <= bare_first[text] + 3


def test_synthetic_source_ends_and_has_gaps_of_empty_frames() -> None:
    source = SyntheticSource(SyntheticConfig(("a",), present_frames=3, gap_frames=2))
    source.open()
    assert [source.text_at(i) for i in range(5)] == [None, None, "a", "a", "a"]
    for _ in range(5):
        source.read()
    with pytest.raises(SourceEnded):
        source.read()


def test_slot_keeps_only_the_newest_frame_and_counts_drops() -> None:
    slot = LatestSlot()
    for i in range(3):
        slot.put(_frame(i))
    taken = slot.take(0.0)
    assert taken is not None
    assert taken.sequence == 2
    assert slot.dropped == 2
    assert slot.take(0.0) is None


def test_slot_hands_over_a_waiting_frame_before_the_source_error() -> None:
    slot = LatestSlot()
    slot.put(_frame(7))
    slot.fail(SourceError("unplugged"))
    frame = slot.take(0.0)
    assert frame is not None
    assert frame.sequence == 7
    with pytest.raises(SourceError, match="unplugged"):
        slot.take(0.0)


class _CountingSource:
    """A source as fast as it can be: many frames arrive while the consumer is busy."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.n = 0
        self.closed_on: str | None = None
        self.released = threading.Event()

    def open(self) -> None:
        self.n = 0

    def read(self) -> Frame:
        if self.n >= self.limit:
            self.released.wait(5.0)
            raise SourceError("camera unplugged")
        self.n += 1
        return _frame(self.n)

    def close(self) -> None:
        self.closed_on = threading.current_thread().name


def test_grabber_drops_stale_frames_and_reports_the_source_error() -> None:
    source = _CountingSource(limit=50)
    grabber = FrameGrabber(source, name="test-grabber")
    grabber.start()
    while source.n < 50:
        threading.Event().wait(0.01)
    frame = grabber.next_frame(1.0)
    assert frame is not None
    assert frame.sequence == 50  # the newest, not the first
    assert grabber.slot.dropped >= 1
    source.released.set()
    with pytest.raises(SourceError, match="unplugged"):
        grabber.next_frame(2.0)
    grabber.stop()
    assert source.closed_on == "test-grabber"


def test_grabber_stops_promptly_and_reopens_the_source() -> None:
    source = SyntheticSource(SyntheticConfig(("x",), realtime=True, loop=True, fps=30.0))
    grabber = FrameGrabber(source)
    grabber.start()
    assert grabber.next_frame(2.0) is not None
    grabber.stop()
    grabber.start()
    frame = grabber.next_frame(2.0)
    assert frame is not None
    assert frame.sequence < 5  # started again from the beginning
    grabber.stop()


def test_code_frame_renders_readable() -> None:
    gray = render_code("bench", (1280, 720))
    assert zxingcpp.read_barcodes(gray, formats=QR)[0].text == "bench"
