"""`checkpoint-scanner render-display`: a PNG of what a backend shows for one scan or unit state.

It takes the daemon's path: scanner.decide.verify for the verdict, `compose` for the
content, and the backend's own Surface class to draw it (the OLED on luma's
dummy device), so the README pictures are what a unit shows.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from PIL import Image

from scanner.cli.kit import CommandError, command, echo, parse_instant, parser
from scanner.decide.verify import Verifier
from scanner.display.config import DisplayConfig
from scanner.display.console import ConsoleSurface
from scanner.display.oled import OledSurface
from scanner.display.screen import Locale, Screen, UnitStatus, compose
from scanner.display.textview import render_text
from scanner.model import ClockState, Fill, Health, TrustState, Verdict
from scanner.trust.clock import PinnedClock

# --reason NAME -> the Health field it sets (the names of Health.reasons).
_REASONS: dict[str, tuple[str, Any]] = {
    "no_camera": ("camera_ok", False),
    "trust_stale": ("trust", TrustState.STALE),
    "trust_expired": ("trust", TrustState.EXPIRED),
    "clock_unsynced": ("clock", ClockState.UNSYNCED),
    "clock_behind": ("clock", ClockState.BEHIND),
    "outbox_high": ("outbox_fill", Fill.HIGH),
    "outbox_critical": ("outbox_fill", Fill.CRITICAL),
}


class _Framebuffer:
    """Stands in for luma's linux_framebuffer: keeps the frame instead of writing /dev/fb0."""

    mode = "RGB"

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self.image: Image.Image | None = None

    def display(self, image: Image.Image) -> None:
        self.image = image

    def cleanup(self) -> None:
        pass


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise CommandError(f"--size: expected WIDTHxHEIGHT, got {text!r}") from None
    return width, height


def _verdict(args: Any, at: int) -> Verdict:
    from scanner.cli.scan import load_trust  # noqa: PLC0415 - loads the decoder stack (OpenCV)

    if args.root_pub is None or args.bundle is None:
        raise CommandError("--text needs --root-pub and --bundle")
    snapshot = load_trust(args.root_pub, args.bundle, args.revocations)
    verifier = Verifier(lambda: snapshot, PinnedClock(at))
    return verifier.verify(args.text.encode("utf-8"))


def _status(args: Any, at: int) -> UnitStatus:
    if args.state == "degraded" and not args.reason and args.offline_for is None:
        raise CommandError("--state degraded needs --reason or --offline-for")
    health = Health(True, TrustState.FRESH, ClockState.SYNCED, Fill.OK)
    reasons = list(args.reason) + (["no_camera"] if args.state == "fault" else [])
    for name in reasons:
        field, value = _REASONS[name]
        health = dataclasses.replace(health, **{field: value})
    offline = at - args.offline_for * 60 if args.offline_for is not None else None
    return UnitStatus(health, offline)


def _render(backend: str, screen: Screen, config: DisplayConfig, size: tuple[int, int]) -> Any:
    if backend == "oled":
        from luma.core.device import dummy  # type: ignore[import-untyped]  # noqa: PLC0415

        width, height = config.oled_width, config.oled_height
        oled = OledSurface(dummy(width=width, height=height, mode="1"))
        oled.draw(screen)
        return oled.image
    framebuffer = _Framebuffer(size)
    ConsoleSurface(framebuffer=framebuffer).draw(screen)
    return framebuffer.image


@command
def main(argv: list[str]) -> int:
    """Run `checkpoint-scanner render-display`: a PNG of one screen."""
    p = parser(
        "checkpoint-scanner render-display",
        "Write a PNG of what the officer display shows for one scan, or for the unit's state.",
    )
    p.add_argument(
        "--backend",
        choices=("oled", "console"),
        default="console",
        help="the HDMI/console panel or an I2C OLED",
    )
    p.add_argument("--lang", choices=("vi", "en"), default="vi", help="Vietnamese or English")
    p.add_argument("--label", default="", help="checkpoint label shown on the screens")
    p.add_argument("--root-pub", type=Path, help="the pinned root public key (with --bundle)")
    p.add_argument("--bundle", type=Path, help="a trust bundle to verify --text against")
    p.add_argument(
        "--revocations",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a revocation update, in serial order (repeatable)",
    )
    p.add_argument("--at", help="the instant of the scan (ISO 8601); default: now")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", help="the QR text scanned")
    what.add_argument(
        "--idle", action="store_const", dest="state", const="idle", help="the ready screen"
    )
    what.add_argument(
        "--state", choices=("idle", "degraded", "fault"), help="the ready screen in this state"
    )
    what.add_argument("--unreadable", action="store_true", help="a code seen but not read")
    p.add_argument(
        "--reason",
        action="append",
        default=[],
        choices=sorted(_REASONS),
        help="a degraded reason to show (repeatable)",
    )
    p.add_argument("--offline-for", type=int, metavar="MINUTES", help="uplink down this long")
    p.add_argument(
        "--driver", choices=("ssd1306", "sh1106"), default="ssd1306", help="the OLED controller"
    )
    p.add_argument("--oled-size", type=_size, default=(128, 64), help="e.g. 128x64")
    p.add_argument("--size", type=_size, default=(800, 480), help="HDMI panel, e.g. 800x480")
    p.add_argument("--scale", type=int, default=1, help="enlarge the PNG (nearest pixel)")
    p.add_argument("--print-text", action="store_true", help="also print the tty text view")
    p.add_argument("--out", type=Path, required=True, help="the PNG to write")
    args = p.parse_args(argv)
    if not 1 <= args.scale <= 16:
        raise CommandError("--scale: must be 1..16")
    try:
        config = DisplayConfig(
            backend=args.backend,
            language=args.lang,
            oled_driver=args.driver,
            oled_width=args.oled_size[0],
            oled_height=args.oled_size[1],
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    at = parse_instant(args.at) if args.at else int(time.time())
    locale = Locale(config.language, config.utc_offset_min, args.label)
    subject: Verdict | UnitStatus | None = None
    if args.text is not None:
        subject = _verdict(args, at)
    elif not args.unreadable:
        subject = _status(args, at)
    screen = compose(subject, locale, at)
    image = _render(args.backend, screen, config, args.size)
    if args.scale > 1:
        image = image.resize(
            (image.width * args.scale, image.height * args.scale), Image.Resampling.NEAREST
        )
    try:
        image.convert("RGB" if image.mode != "1" else "L").save(args.out, format="PNG")
    except OSError as exc:
        raise CommandError(f"{args.out}: {exc}") from None
    if args.print_text:
        echo(render_text(screen, 40, 12))
    return 0
