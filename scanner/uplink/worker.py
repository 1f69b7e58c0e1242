"""The downlink worker: one thread that handles what central sends, off paho's network thread.

paho calls ``on_message`` on the thread that also reads PUBACKs and sends
keepalives; a 1M-entry revocation update verified and applied there would
stall every acknowledgement behind it. The network thread only queues here.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from scanner.uplink.inbound import DownlinkMessage

log = logging.getLogger(__name__)

QUEUE_MAX = 64  # trust updates are retained or re-requested, commands expire: never unbounded


class DownlinkWorker:
    """Runs ``handler`` for each submitted message, in order, on the thread ``downlink``."""

    def __init__(self, handler: Callable[[DownlinkMessage], None]) -> None:
        self._handler = handler
        self._queue: queue.Queue[DownlinkMessage | None] = queue.Queue(QUEUE_MAX)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the downlink thread."""
        self._thread = threading.Thread(target=self._run, name="downlink", daemon=True)
        self._thread.start()

    def submit(self, message: DownlinkMessage) -> bool:
        """Queue a message without waiting; False (and logged) if the worker is that far behind."""
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            log.warning("downlink worker busy: %s message dropped", message.kind)
            return False
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the message in hand, drop the rest, end the thread."""
        if self._thread is None:
            return
        while True:  # make room for the stop mark: what is queued is not worth waiting for
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while (message := self._queue.get()) is not None:
            try:
                self._handler(message)
            except Exception:  # one bad message must not end the worker
                log.exception("downlink handler failed on a %s message", message.kind)
