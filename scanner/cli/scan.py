"""`checkpoint-scanner scan`: decode images (or given texts) and verify what they carry, offline."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.camera.errors import ImageError, SourceEnded, SourceError
from scanner.camera.images import load_gray
from scanner.camera.replay import ReplayConfig, ReplaySource
from scanner.cli.kit import CommandError, command, format_instant, parse_instant, parser, print_json
from scanner.decide.decode import Decoder
from scanner.decide.verify import Verifier
from scanner.model import Verdict
from scanner.trust.bundle import BundleError, parse_bundle
from scanner.trust.clock import Clock, PinnedClock, TrustedClock
from scanner.trust.keys import KeyFileError, load_public_key
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.revocation_update import RevocationGapError, RevocationUpdateError, parse_update
from scanner.trust.snapshot import TrustSnapshot


@dataclass(frozen=True, slots=True)
class ScanInput:
    source: str
    texts: list[bytes]
    decode_ms: float | None
    error: str | None = None


def load_trust(root_pub: Path, bundle: Path, revocations: list[Path]) -> TrustSnapshot:
    """Build a snapshot in memory from files, with the same checks as the device's store."""
    try:
        root = load_public_key(root_pub)
        parsed = parse_bundle(bundle.read_bytes(), root)
    except (KeyFileError, BundleError) as exc:
        raise CommandError(f"{bundle}: {exc}") from None
    except OSError as exc:
        raise CommandError(f"{bundle}: {exc.strerror}") from None
    revoked, serial = RevocationSet.empty(), 0
    for path in revocations:
        try:
            update = parse_update(path.read_bytes(), parsed.revocation_key)
            update.check_follows(serial)
        except (RevocationUpdateError, RevocationGapError) as exc:
            raise CommandError(f"{path}: {exc}") from None
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from None
        if update.snapshot:
            revoked = RevocationSet.from_ids(update.added)
        else:
            revoked = revoked.apply(update.added, update.removed)
        serial = update.serial
    return TrustSnapshot(parsed, revoked, serial)


VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".h264", ".mjpeg"})


def decode_video(decoder: Decoder, path: Path) -> ScanInput:
    """Every distinct code in a video, in order of first sight, through the live decoder."""
    source = ReplaySource(ReplayConfig(path=path, realtime=False))
    texts: list[bytes] = []
    elapsed = 0.0
    try:
        source.open()
        while True:
            result = decoder.decode(source.read().gray)
            elapsed += result.elapsed_ms
            texts += [c.content for c in result.codes if c.content not in texts]
    except SourceEnded:
        pass
    except SourceError as exc:
        return ScanInput(str(path), texts, elapsed, error=str(exc))
    finally:
        source.close()
    return ScanInput(str(path), texts, elapsed)


def decode_file(decoder: Decoder, path: Path) -> ScanInput:
    """The codes in one image (or video) file; a bad file is an error for that file only."""
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return decode_video(decoder, path)
    try:
        gray = load_gray(path)
    except ImageError as exc:
        return ScanInput(str(path), [], None, error=str(exc))
    result = decoder.decode(gray)
    return ScanInput(str(path), [c.content for c in result.codes], result.elapsed_ms)


def _code_json(text: bytes, verdict: Verdict | None) -> dict[str, Any]:
    shown = text.decode("utf-8", errors="replace")
    if verdict is None:
        return {
            "text": shown,
            "verdict": None,
            "reason": None,
            "pass_id": None,
            "trust": None,
            "clock": None,
        }
    info = verdict.info
    return {
        "text": shown,
        "verdict": verdict.outcome.value,
        "reason": verdict.reason.value if verdict.reason else None,
        "pass_id": verdict.pass_id,
        "kind": info.kind.name.lower() if info else None,
        "kid": verdict.kid.hex() if verdict.kid else None,
        "expires": format_instant(info.expires_at) if info else None,
        "trust": verdict.trust.value if verdict.trust else None,
        "clock": verdict.clock.value,
    }


@command
def main(argv: list[str]) -> int:
    p = parser("checkpoint-scanner scan", "Decode QR images and verify the passes in them.")
    p.add_argument("images", nargs="*", type=Path)
    p.add_argument("--text", action="append", default=[], help="a QR text to verify (repeatable)")
    p.add_argument("--root-pub", type=Path)
    p.add_argument("--bundle", type=Path)
    p.add_argument("--revocations", type=Path, nargs="+", action="extend", default=[])
    p.add_argument("--at", help="pin the clock to this instant (ISO 8601)")
    p.add_argument("--state-dir", type=Path, help="use this clock floor instead of --at")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if not args.images and not args.text:
        raise CommandError("give image files or --text")
    if (args.root_pub is None) != (args.bundle is None):
        raise CommandError("--root-pub and --bundle go together")
    verifier: Verifier | None = None
    if args.bundle is not None:
        snapshot = load_trust(args.root_pub, args.bundle, args.revocations)
        clock: Clock
        if args.at:
            clock = PinnedClock(parse_instant(args.at))
        elif args.state_dir:
            clock = TrustedClock(args.state_dir / "clock-floor", synced=lambda: False)
        else:
            clock = TrustedClock(Path("/nonexistent/clock-floor"), synced=lambda: False)
        clock.observe(snapshot.bundle.issued_at)
        verifier = Verifier(lambda: snapshot, clock)
    inputs = [ScanInput("text", [t.encode("utf-8")], None) for t in args.text]
    decoder = Decoder()
    inputs += [decode_file(decoder, path) for path in args.images]
    failures = 0
    for item in inputs:
        started = time.perf_counter()
        codes = [_code_json(t, verifier.verify(t) if verifier else None) for t in item.texts]
        verify_ms = (time.perf_counter() - started) * 1000
        failures += item.error is not None
        record: dict[str, Any] = {
            "source": item.source,
            "codes": codes,
            "decode_ms": item.decode_ms,
            "verify_ms": round(verify_ms, 3),
        }
        if item.error:
            record["error"] = item.error
        if args.json:
            print_json(record)
        else:
            _print_human(record)
    return 1 if failures else 0


def _print_human(record: dict[str, Any]) -> None:
    if "error" in record:
        print(f"{record['source']}: error: {record['error']}")
        return
    if not record["codes"]:
        print(f"{record['source']}: no QR code found")
    for code in record["codes"]:
        verdict = code["verdict"] or "decoded"
        reason = f" ({code['reason']})" if code["reason"] else ""
        print(f"{record['source']}: {verdict.upper()}{reason} pass={code['pass_id']}")
