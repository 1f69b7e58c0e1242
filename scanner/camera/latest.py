"""The one-slot hand-over between camera and decoder: the decoder always gets the newest frame."""

from __future__ import annotations

import logging
import threading

from scanner.camera.base import Frame, FrameSource
from scanner.errors import SourceError

_log = logging.getLogger(__name__)


class LatestSlot:
    """Holds at most one frame; a new frame replaces an untaken one, which counts as dropped.

    A queue would let the verdict lag behind the camera whenever decoding is slower than the
    frame rate; one slot means the decoder sees what is in front of the camera now.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._error: SourceError | None = None
        self.dropped = 0
        self.delivered = 0

    def put(self, frame: Frame) -> None:
        """Offer the newest frame, dropping one the decoder has not taken."""
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._cond.notify_all()

    def fail(self, error: SourceError) -> None:
        """Hand the source's failure to the consumer, after any frame still waiting."""
        with self._cond:
            self._error = error
            self._cond.notify_all()

    def take(self, timeout: float) -> Frame | None:
        """The newest untaken frame, waiting up to `timeout` s; None if none came.

        Raises the source's SourceError once the slot is empty and the source has failed.
        """
        with self._cond:
            if self._frame is None and self._error is None:
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
            if frame is not None:
                self.delivered += 1
                return frame
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            return None


class FrameGrabber:
    """Reads `source` on its own named thread into a LatestSlot until stopped or it fails.

    Usage: `g = FrameGrabber(source); g.start(); frame = g.next_frame(0.5); ...; g.stop()`.
    After a SourceError from `next_frame`, `stop()` and `start()` again reopen the source.
    """

    def __init__(self, source: FrameSource, *, name: str = "frame-grabber") -> None:
        self._source = source
        self._name = name
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.slot = LatestSlot()

    def start(self) -> None:
        """Open the source (raising SourceError here if it cannot) and start reading."""
        if self._thread is not None:
            raise RuntimeError("frame grabber already started")
        self._stopping.clear()
        self.slot = LatestSlot()
        self._source.open()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def next_frame(self, timeout: float) -> Frame | None:
        """The newest frame not yet handed out (None after `timeout` s); SourceError if failed."""
        return self.slot.take(timeout)

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop reading and close the source; False when the reader is stuck in a read.

        A stuck reader still owns the source (it closes it when its read returns),
        so the caller must not reopen that source: only a new process is safe.
        """
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                _log.warning("frame grabber did not stop within %.1f s", timeout)
                return False
        return True

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    frame = self._source.read()
                except SourceError as e:
                    if not self._stopping.is_set():
                        self.slot.fail(e)
                    return
                except Exception as e:  # noqa: BLE001
                    # A driver bug must reach the daemon as the one source error it handles.
                    _log.exception("frame source raised %s", type(e).__name__)
                    self.slot.fail(SourceError(f"frame source failed: {type(e).__name__}"))
                    return
                self.slot.put(frame)
        finally:
            # Close on this thread: a capture device must not be closed under a read.
            self._source.close()
