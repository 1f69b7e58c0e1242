"""`checkpoint-scanner scan`: decode images (or given texts) and verify what they carry, offline."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.camera.config import ReplayConfig
from scanner.camera.images import load_gray
from scanner.camera.replay import ReplaySource
from scanner.cli.kit import (
    CommandError,
    command,
    echo,
    format_instant,
    parse_instant,
    parser,
    print_json,
)
from scanner.decide.decode import Decoder
from scanner.decide.hc1 import Hc1Format
from scanner.decide.verify import Verifier
from scanner.errors import (
    BundleError,
    ImageError,
    KeyFileError,
    RevocationGapError,
    RevocationUpdateError,
    SourceEnded,
    SourceError,
)
from scanner.model import Verdict
from scanner.trust.bundle import parse_bundle
from scanner.trust.clock import Clock, PinnedClock, TrustedClock
from scanner.trust.dcc_rules import RuleSetError, parse_rules
from scanner.trust.dcc_signers import DscListError, parse_signers
from scanner.trust.dcc_store import DccTrust
from scanner.trust.keys import load_public_key
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.revocation_update import parse_update
from scanner.trust.snapshot import TrustSnapshot

NO_TRUST = "not verified (no trust data)"


@dataclass(frozen=True, slots=True)
class Found:
    """One code's bytes and the decoder's own reading of them."""

    content: bytes
    text: str
    binary: bool = False


@dataclass(frozen=True, slots=True)
class ScanInput:
    """One image's (or given text's) codes, decode time and any error reading it."""

    source: str
    found: list[Found]
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


def load_dcc(snapshot: TrustSnapshot, signers: Path | None, rules: Path | None) -> DccTrust:
    """The EU DCC trust objects from files, verified with the bundle's dcc key."""
    if signers is None and rules is None:
        return DccTrust()
    key = snapshot.bundle.dcc_key
    if key is None:
        raise CommandError("the trust bundle names no dcc key (trust-bundle --dcc-pub)")
    try:
        return DccTrust(
            signers=parse_signers(signers.read_bytes(), key) if signers else None,
            rules=parse_rules(rules.read_bytes(), key) if rules else None,
        )
    except (DscListError, RuleSetError) as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"{exc.filename}: {exc.strerror}") from None


VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".h264", ".mjpeg"})


def decode_video(decoder: Decoder, path: Path) -> ScanInput:
    """Every distinct code in a video, in order of first sight, through the live decoder."""
    source = ReplaySource(ReplayConfig(path=path, realtime=False))
    found: list[Found] = []
    elapsed = 0.0
    try:
        source.open()
        while True:
            result = decoder.decode(source.read().gray)
            elapsed += result.elapsed_ms
            seen = {f.content for f in found}
            found += [
                Found(c.content, c.text, c.binary) for c in result.codes if c.content not in seen
            ]
    except SourceEnded:
        pass
    except SourceError as exc:
        return ScanInput(str(path), found, elapsed, error=str(exc))
    finally:
        source.close()
    return ScanInput(str(path), found, elapsed)


def decode_file(decoder: Decoder, path: Path) -> ScanInput:
    """The codes in one image (or video) file; a bad file is an error for that file only."""
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return decode_video(decoder, path)
    try:
        gray = load_gray(path)
    except ImageError as exc:
        return ScanInput(str(path), [], None, error=str(exc))
    result = decoder.decode(gray)
    found = [Found(c.content, c.text, c.binary) for c in result.codes]
    return ScanInput(str(path), found, result.elapsed_ms)


def _code_json(code: Found, verdict: Verdict | None) -> dict[str, Any]:
    # The decoder's own text (ECI and Shift-JIS applied), not the bytes read as
    # UTF-8; binary content has no text, so its bytes are given in base64.
    shown: dict[str, Any] = {"text": None if code.binary else code.text}
    if code.binary:
        shown["bytes_base64"] = base64.b64encode(code.content).decode("ascii")
    if verdict is None:
        return {
            **shown,
            "verdict": None,
            "status": NO_TRUST,
            "reason": None,
            "pass_id": None,
            "trust": None,
            "clock": None,
        }
    info = verdict.info
    return {
        **shown,
        "verdict": verdict.label,
        "reason": verdict.reason.value if verdict.reason else None,
        "pass_id": verdict.pass_id,
        "kind": info.kind.name.lower() if info else None,
        "kid": verdict.kid.hex() if verdict.kid else None,
        "expires": format_instant(info.expires_at) if info else None,
        "trust": verdict.trust.value if verdict.trust else None,
        "clock": verdict.clock.value,
        "format": verdict.format,
        "rule_id": verdict.rule_id,
    }


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-scanner scan`: decode and verify images or texts offline."""
    p = parser(
        "checkpoint-scanner scan",
        "Decode QR images (or videos) and verify the passes in them, offline.\n"
        "Without --root-pub and --bundle the codes are only decoded: " + NO_TRUST + ".",
    )
    p.add_argument("images", nargs="*", type=Path, help="image or video files to read")
    p.add_argument("--text", action="append", default=[], help="a QR text to verify (repeatable)")
    p.add_argument("--root-pub", type=Path, help="the pinned root public key (with --bundle)")
    p.add_argument("--bundle", type=Path, help="a trust bundle signed by that root")
    p.add_argument(
        "--revocations",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a revocation update, in serial order (repeatable)",
    )
    p.add_argument(
        "--dcc-signers", type=Path, help="EU DCC DSC list (checkpoint-provision dcc-signers)"
    )
    p.add_argument(
        "--dcc-rules", type=Path, help="EU DCC entry rules (checkpoint-provision dcc-rules)"
    )
    p.add_argument("--at", help="pin the clock to this instant (ISO 8601, e.g. ...T00:00:00Z)")
    p.add_argument("--state-dir", type=Path, help="use this unit's clock floor instead of --at")
    p.add_argument("--json", action="store_true", help="one JSON object a line, per input")
    args = p.parse_args(argv)
    if not args.images and not args.text:
        raise CommandError("give image files or --text")
    if (args.root_pub is None) != (args.bundle is None):
        raise CommandError("--root-pub and --bundle go together")
    if args.revocations and args.bundle is None:
        raise CommandError("--revocations needs --root-pub and --bundle")
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
        dcc = load_dcc(snapshot, args.dcc_signers, args.dcc_rules)
        hc1 = Hc1Format(lambda: dcc, lambda: snapshot)
        verifier = Verifier(lambda: snapshot, clock, formats=[hc1])
    inputs = [ScanInput("text", [Found(t.encode("utf-8"), t)], None) for t in args.text]
    decoder = Decoder()
    inputs += [decode_file(decoder, path) for path in args.images]
    failures = 0
    for item in inputs:
        started = time.perf_counter()
        codes = [
            _code_json(f, verifier.verify(f.content) if verifier else None) for f in item.found
        ]
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
        echo(f"{record['source']}: error: {record['error']}")
        return
    if not record["codes"]:
        echo(f"{record['source']}: no QR code found")
    for code in record["codes"]:
        if code["verdict"] is None:
            echo(f"{record['source']}: {NO_TRUST}")
            continue
        reason = f" ({code['reason']})" if code["reason"] else ""
        kind = " [test card, not a traveller]" if code.get("kind") == "test" else ""
        echo(f"{record['source']}: {code['verdict'].upper()}{reason} pass={code['pass_id']}{kind}")
