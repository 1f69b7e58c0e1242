"""`bench downlink`: PUBACK delay and frame time while a 1M-entry revocation update is applied.

The unit uploads a backlog to a private Mosquitto while its scan thread turns
frames (decode and verify of a real signed pass). First with nothing else
running, then while central's revocation snapshot of ``--entries`` IDs arrives
and the downlink worker has it verified and built (in the helper process,
``scanner.trust.revocation_build``) and swaps it in. Wall-clock figures depend
on the machine's load; the CPU the daemon's downlink thread spent on the apply
does not, and is what holds the GIL. References: the same apply alone, through
the helper and built in-process (as before the helper). Figures are printed
side by side with the targets; nothing is asserted.
"""

from __future__ import annotations

import json
import resource
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
from nacl.signing import SigningKey
from paho.mqtt.enums import CallbackAPIVersion

from scanner.bench.frames import NOW, sample_trust
from scanner.bench.targets import Target, judged, lines
from scanner.camera.synthetic import render_code
from scanner.cli.kit import command, echo, parser
from scanner.decide.decode import Decoder
from scanner.decide.verify import verify_text
from scanner.demo.broker import Broker
from scanner.demo.samples import build
from scanner.model import ClockState, Outcome
from scanner.outbox.events import EventKind, OutboxEvent
from scanner.outbox.queue import Outbox
from scanner.trust.clock import PinnedClock
from scanner.trust.revocation_update import encode_update
from scanner.trust.store import TrustStore
from scanner.uplink.commands import CommandGate
from scanner.uplink.config import UplinkConfig
from scanner.uplink.downlink import Downlink, DownlinkActions
from scanner.uplink.inbound import DownlinkMessage
from scanner.uplink.service import Uplink
from scanner.uplink.topics import Topics

TARGETS = [
    Target("during_apply.puback_ms.p95", "<=", 100.0),  # what "does not delay PUBACKs" means
    Target("during_apply.frame_ms.p95", "<=", 50.0),  # under two frames at 30 fps
    Target("during_apply.frame_ms.max", "<", 100.0),  # no visible freeze of the officer's screen
    Target("change.frame_p95_ms", "<=", 5.0),  # within a few ms of no apply at all
    Target("change.puback_p95_ms", "<=", 5.0),
    # Load-independent: what the daemon itself spent (and held the GIL for).
    Target("during_apply.daemon_cpu_s", "<=", 0.25),
]


def _event(n: int) -> OutboxEvent:
    return OutboxEvent(
        kind=EventKind.SCAN,
        device_id="bench-device",
        checkpoint_id="bench",
        wall_time=1_700_000_000.0 + n,
        clock=ClockState.SYNCED,
        outcome=Outcome.ACCEPT,
        pass_id=f"PX{n:010d}",
        decode_ms=4.0,
    )


def _ms(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    array = np.array(values) * 1000.0
    return {
        "n": len(values),
        "p50": round(float(np.percentile(array, 50)), 2),
        "p95": round(float(np.percentile(array, 95)), 2),
        "max": round(float(array.max()), 2),
    }


class Scene:
    """The unit under test: trust store, uplink with its downlink worker, a frame to turn."""

    def __init__(self, tmp: Path, broker: Broker, events: int) -> None:
        self.samples = build(NOW)
        self.alerts: list[tuple[str, dict[str, object]]] = []  # what the downlink told central
        root = self.samples.keys.root.verify_key
        TrustStore.initialise(tmp / "trust", root, self.samples.bundle)
        self.store = TrustStore(tmp / "trust", root)
        self.outbox = Outbox(tmp / "state", max_bytes=2 * 1024**3)
        for first in range(0, events, 10_000):
            self.outbox.record_many([_event(n) for n in range(first, min(events, first + 10_000))])
        actions = DownlinkActions(
            identify=lambda: None,
            flush=lambda: None,
            report=lambda: None,
            alert=lambda code, detail: self.alerts.append((code, dict(detail))),
            command_result=lambda *_: None,
            request_catchup=lambda *_: None,
        )
        gate = CommandGate("bench-device", tmp / "command-seq")
        downlink = Downlink(self.store, gate, PinnedClock(NOW), actions)
        self.handler_cpu: list[float] = []  # CPU seconds of the downlink thread, per message

        def handle(message: DownlinkMessage) -> None:
            started = time.thread_time()
            downlink.handle(message)
            self.handler_cpu.append(time.thread_time() - started)

        config = UplinkConfig(
            broker_url=broker.url,
            device_id="bench-device",
            state_dir=tmp / "state",
            poll_interval_s=0.05,
            heartbeat_interval_s=3600,
        )
        self.topics = Topics(config.topic_root, config.device_id)
        key = SigningKey.generate()
        self.uplink = Uplink(config, self.outbox, key, on_downlink=handle)
        text, self.trust = sample_trust()
        self.frame = render_code(text, (640, 480), 0)
        self.decoder = Decoder()

    def frames_until(self, done: threading.Event | None, seconds: float) -> list[float]:
        """Turn frames on this thread (the scan thread's work) until `done` or the time is up."""
        times: list[float] = []
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline and not (done is not None and done.is_set()):
            start = time.perf_counter()
            result = self.decoder.decode(self.frame)
            for code in result.codes:
                verify_text(code.content, self.trust, NOW, ClockState.SYNCED)
            times.append(time.perf_counter() - start)
        return times


def _publish(broker: Broker, topic: str, payload: bytes) -> None:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="bench-central", protocol=mqtt.MQTTv5
    )
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1).wait_for_publish(60)
    finally:
        client.disconnect()
        client.loop_stop()


def measure(entries: int, events: int, window_s: float, tmp: Path) -> dict[str, object]:
    """PUBACK delays and frame times while `entries` revocations are applied."""
    broker = Broker(tmp / "broker")
    broker.start()
    try:
        scene = Scene(tmp, broker, events)
        ids = [f"P-{n:09d}" for n in range(entries)]
        update = encode_update(
            scene.samples.keys.revocation, serial=1, issued_at=NOW, added=ids, snapshot=True
        )
        scene.uplink.start()
        deadline = time.monotonic() + 10
        while not scene.uplink.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        # Without an apply: the upload alone, beside the scan thread.
        first = len(scene.uplink.ack_delays)
        idle_frames = scene.frames_until(None, window_s)
        idle_acks = list(scene.uplink.ack_delays)[first:]
        # With the apply: from central's publish until the worker has swapped the set in.
        applied = threading.Event()

        def watch() -> None:
            # Until swapped in, or refused: a refusal ends the run instead of a 10-minute wait.
            while scene.store.snapshot().revocation_serial != 1 and not scene.alerts:
                time.sleep(0.005)
            applied.set()

        threading.Thread(target=watch, name="bench-watch", daemon=True).start()
        first = len(scene.uplink.ack_delays)
        children = _children_cpu()
        started = time.perf_counter()
        threading.Thread(
            target=_publish, args=(broker, scene.topics.revocations, update), daemon=True
        ).start()
        busy_frames = scene.frames_until(applied, 600)
        apply_s = time.perf_counter() - started
        builder_cpu = _children_cpu() - children
        if scene.alerts:
            raise RuntimeError(f"the update was not applied: {scene.alerts[0]}")
        busy_acks = list(scene.uplink.ack_delays)[first:]
        left = scene.outbox.depth()
        scene.uplink.stop()
        scene.outbox.close()
        reference = _alone(tmp, scene, update)
    finally:
        broker.kill()
    without = {"puback_ms": _ms(idle_acks), "frame_ms": _ms(idle_frames)}
    during: dict[str, Any] = {
        "seconds": round(apply_s, 2),
        "daemon_cpu_s": round(sum(scene.handler_cpu), 3),
        "builder_cpu_s": round(builder_cpu, 3),
        "puback_ms": _ms(busy_acks),
        "frame_ms": _ms(busy_frames),
    }
    report = {
        "entries": entries,
        "update_bytes": len(update),
        "upload_backlog_left": left,
        "without_apply": without,
        "during_apply": during,
        "change": {
            "puback_p95_ms": _change(without["puback_ms"], during["puback_ms"]),
            "frame_p95_ms": _change(without["frame_ms"], during["frame_ms"]),
        },
        "reference": reference,
    }
    return judged(report, TARGETS)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # ended (and reaped) children only
    return usage.ru_utime + usage.ru_stime


def _change(before: dict[str, float | int], after: dict[str, float | int]) -> float | None:
    if "p95" not in before or "p95" not in after:
        return None
    return round(float(after["p95"]) - float(before["p95"]), 2)


def _alone(tmp: Path, scene: Scene, update: bytes) -> dict[str, float]:
    """The same update applied with nothing else running: through the helper, and in-process."""
    root = scene.samples.keys.root.verify_key
    out: dict[str, float] = {}
    for name, offload in (("builder", 0), ("in_process", len(update) + 1)):
        TrustStore.initialise(tmp / f"ref-{name}", root, scene.samples.bundle)
        store = TrustStore(tmp / f"ref-{name}", root, offload_bytes=offload)
        started, cpu = time.perf_counter(), time.thread_time()
        store.apply_revocations(update)
        out[f"{name}_alone_seconds"] = round(time.perf_counter() - started, 2)
        out[f"{name}_alone_daemon_cpu_s"] = round(time.thread_time() - cpu, 3)
    return out


def _text(report: Mapping[str, Any]) -> list[str]:
    without, during = report["without_apply"], report["during_apply"]
    reference = report["reference"]
    out = [
        f"bench downlink: {report['entries']:,} revoked IDs ({report['update_bytes']:,} bytes),"
        f" applied in {during['seconds']} s while uploading",
        f"  daemon CPU {during['daemon_cpu_s']} s, builder process CPU {during['builder_cpu_s']} s",
        f"{'':16}{'without apply':>15}{'during apply':>15}",
    ]
    for figure, label in (("puback_ms", "PUBACK"), ("frame_ms", "frame")):
        for stat in ("p50", "p95", "max"):
            a, b = without[figure].get(stat, "-"), during[figure].get(stat, "-")
            out.append(f"{label + ' ' + stat + ' ms':16}{a!s:>15}{b!s:>15}")
    out.append(
        f"reference, alone: {reference['builder_alone_seconds']} s through the builder"
        f" (daemon CPU {reference['builder_alone_daemon_cpu_s']} s),"
        f" {reference['in_process_alone_seconds']} s in-process"
        f" (daemon CPU {reference['in_process_alone_daemon_cpu_s']} s)"
    )
    return out + lines(report)


@command
def main(argv: list[str]) -> int:
    """Run `bench downlink`: uplink and scan thread while a large update applies."""
    p = parser("checkpoint-scanner bench downlink", __doc__ or "")
    p.add_argument("--entries", type=int, default=1_000_000, help="revoked IDs in the update")
    p.add_argument("--events", type=int, default=400_000, help="upload backlog")
    p.add_argument("--window", type=float, default=3.0, help="seconds measured without the apply")
    p.add_argument("--dir", type=Path, default=None, help="where the temp files go")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = p.parse_args(argv)
    if args.entries < 1 or args.events < 1 or args.window <= 0:
        echo("error: --entries, --events and --window must be positive", err=True)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="bench-downlink-", dir=args.dir) as tmp:
            result = measure(args.entries, args.events, args.window, Path(tmp))
    except (OSError, RuntimeError, TimeoutError) as exc:
        echo(f"error: {exc}", err=True)
        return 1
    if args.json:
        echo(json.dumps(result))
    else:
        echo("\n".join(_text(result)))
    return 0
