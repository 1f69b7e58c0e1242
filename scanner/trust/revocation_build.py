"""Building the next revocation set from a signed update, in a helper process for large ones.

Why a process. A 1M-entry snapshot is 12 MB of CBOR. Verifying it, decoding it
(cbor2, then the deterministic-encoding and type checks), validating a million
pass IDs and hashing each to its 64-bit key is ~1.5 s of pure-Python work on
x86 and several seconds on a Pi 4; py-spy shows the downlink thread holding
the GIL for all of it, so the scan loop's frames and paho's PUBACKs wait in
line (frame max 110-164 ms, PUBACK p95 32-67 ms during the apply on a quiet
machine). Threads cannot fix that, and yielding the GIL every few ms from a
chunked decoder would still spend those seconds of CPU on the daemon's core
and need a CBOR decoder of our own. A child process runs on another of the
Pi's four cores, and its transient Python objects die with it: for 1M
entries the child peaks at 150 MB RSS, while the daemon grows by the new
8 MB key array only (built in-process, the daemon peaked 105 MB higher and
kept 44 MB of it). It costs one interpreter start (~0.2 s CPU on x86, under
a second on a Pi 4) for an update that comes a few times a day. Updates
smaller than ``OFFLOAD_BYTES`` (a few thousand IDs, a few ms of work) are
built in the daemon: a process would cost more than they do.

Not ``multiprocessing``: the daemon is threaded, so its default fork start is
unsafe, and spawn/forkserver bring a resource tracker and re-import the main
module for nothing. ``subprocess`` starts ``python -m`` this module (fork and
exec in C, no Python code between them), writes one header line and the
update on its stdin, and reads one JSON line back:

- the child verifies the signature before it decodes anything (``parse_update``)
  and checks the serial follows the one it was given, then builds the set and
  writes it, fsynced, to the staged path the daemon chose;
- the daemon loads that file (its digest and key order are checked again),
  re-checks the serial under the store's lock and only then renames it over
  the revocation file: the old set stays in force until that rename;
- a refused or out-of-order update is an answer (``RevocationUpdateError``,
  ``RevocationGapError``), never a crash; a child that dies, is killed, times
  out or answers nonsense is ``RevocationApplyError`` and its staged file is
  removed.

The child runs at the daemon's priority: the unit file's
``SystemCallFilter=~@resources`` refuses ``setpriority``, and on a Pi 4 the
helper has a core to itself anyway.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from nacl.signing import VerifyKey

from scanner.errors import (
    RevocationApplyError,
    RevocationFileError,
    RevocationGapError,
    RevocationUpdateError,
)
from scanner.trust.revocation_set import RevocationSet
from scanner.trust.revocation_update import MAX_UPDATE_BYTES, parse_update

log = logging.getLogger(__name__)

STAGED_SUFFIX: Final = ".staged"
# ~5,000 IDs: built in the daemon in a few ms on x86, a few tens on a Pi 4.
OFFLOAD_BYTES: Final = 64 * 1024
_HEADER_MAX: Final = 4096


@dataclass(frozen=True, slots=True)
class BuildBase:
    """What the new set must follow: the revocation key, and the serial and line in force."""

    key: bytes  # the bundle's revocation public key
    serial: int
    awaiting_snapshot: bool  # the key rotated: only a snapshot may come next


@dataclass(frozen=True, slots=True)
class Built:
    """A verified update turned into the set that follows it: in memory, or staged on disk."""

    serial: int
    issued_at: int
    snapshot: bool
    revoked: RevocationSet | None  # built in this process
    staged: Path | None = None  # written by the child: load it, then rename it into place

    def discard(self) -> None:
        """Remove the staged file, if it is still there (a no-op once renamed into place)."""
        if self.staged is not None:
            self.staged.unlink(missing_ok=True)


def build(data: bytes, base: BuildBase, current: RevocationSet | Path) -> Built:
    """Verify `data`, check it follows `base`, and build the new set on top of `current`.

    `current` is the set in force, or (in the child) the revocation file holding it.
    Raises RevocationUpdateError or RevocationGapError.
    """
    update = parse_update(data, VerifyKey(base.key))
    update.check_follows(base.serial, awaiting_snapshot=base.awaiting_snapshot)
    if update.snapshot:
        revoked = RevocationSet.from_ids(update.added)
    else:
        if isinstance(current, Path):
            current = _load_current(current, base.serial)
        revoked = current.apply(update.added, update.removed)
    return Built(update.serial, update.issued_at, update.snapshot, revoked)


def _load_current(path: Path, serial: int) -> RevocationSet:
    if not path.exists() and serial == 0:
        return RevocationSet.empty()
    try:
        revoked, on_disk = RevocationSet.load(path)
    except RevocationFileError as exc:
        raise RevocationApplyError(str(exc)) from None
    if on_disk != serial:
        raise RevocationApplyError(f"{path} holds serial {on_disk}, the store {serial}")
    return revoked


def staged_path(current: Path) -> Path:
    """A fresh name beside the revocation file, on the same file system for the rename."""
    return current.parent / f".{current.name}.{secrets.token_hex(8)}{STAGED_SUFFIX}"


def remove_stale(current: Path) -> None:
    """Delete staged files a killed child or a crashed daemon left beside `current`.

    Only the daemon applies updates, one at a time, so any staged file seen
    before an apply starts belongs to no running child.
    """
    for path in current.parent.glob(f".{current.name}.*{STAGED_SUFFIX}"):
        log.warning("removing %s left by an interrupted revocation apply", path.name)
        path.unlink(missing_ok=True)


def child_timeout_s(size: int) -> float:
    """How long a child may take over an update of `size` bytes before it is killed."""
    # A Pi 4 builds ~0.2M IDs (2.4 MB) per second: five times that, and a minute to start.
    return 60.0 + 2.0 * size / 1e6


def build_in_child(data: bytes, base: BuildBase, current: Path) -> Built:
    """`build` in a child process on top of the revocation file `current`, staged beside it.

    Raises RevocationUpdateError, RevocationGapError or RevocationApplyError.
    """
    if len(data) > MAX_UPDATE_BYTES:
        raise RevocationUpdateError("revocation update is too large")  # before any process
    staged = staged_path(current)
    header = {
        "key": base.key.hex(),
        "serial": base.serial,
        "awaiting_snapshot": base.awaiting_snapshot,
        "current": str(current),
        "staged": str(staged),
    }
    try:
        answer = _run(header, data, child_timeout_s(len(data)))
        built = _built(answer, staged)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return built


def _child_env() -> dict[str, str]:
    # The child imports the very package this process runs, wherever it came from
    # (installed, editable, a source tree on sys.path); -P keeps its working
    # directory off its path.
    here = str(Path(__file__).resolve().parents[2])
    path = [here, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def _run(header: dict[str, Any], data: bytes, timeout: float) -> dict[str, Any]:
    argv = [sys.executable, "-P", "-m", __name__]
    try:
        # stderr is inherited: the child's log lines reach the journal beside ours.
        child = subprocess.Popen(  # noqa: S603 - our own module, no shell
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_child_env()
        )
    except OSError as exc:
        raise RevocationApplyError(f"cannot start the revocation builder: {exc}") from None
    try:
        assert child.stdin is not None
        # The header line, then the payload, without a 12 MB concatenation.
        child.stdin.write(json.dumps(header).encode() + b"\n")
        out, _ = child.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise RevocationApplyError(f"revocation builder timed out after {timeout:.0f} s") from None
    except BrokenPipeError:
        child.wait()  # it died before reading everything; the exit status says how
        out = b""
    except BaseException:
        child.kill()
        child.wait()
        raise
    code = child.returncode
    if code != 0:
        how = f"signal {-code}" if code < 0 else f"status {code}"
        raise RevocationApplyError(f"revocation builder ended with {how}")
    try:
        answer = json.loads(out)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise RevocationApplyError("revocation builder gave no answer")
    return answer


def _built(answer: dict[str, Any], staged: Path) -> Built:
    if "refused" in answer:
        raise RevocationUpdateError(str(answer["refused"]))
    if "gap" in answer:
        have, got = answer["gap"]
        raise RevocationGapError(int(have), int(got))
    if "failed" in answer:
        raise RevocationApplyError(str(answer["failed"]))
    try:
        return Built(
            serial=int(answer["serial"]),
            issued_at=int(answer["issued_at"]),
            snapshot=bool(answer["snapshot"]),
            revoked=None,
            staged=staged,
        )
    except (KeyError, TypeError, ValueError):
        raise RevocationApplyError("revocation builder gave an incomplete answer") from None


def _child(header: dict[str, Any], data: bytes) -> dict[str, Any]:
    base = BuildBase(
        key=bytes.fromhex(header["key"]),
        serial=int(header["serial"]),
        awaiting_snapshot=bool(header["awaiting_snapshot"]),
    )
    try:
        built = build(data, base, Path(header["current"]))
    except RevocationGapError as exc:
        return {"gap": [exc.have, exc.got]}
    except RevocationUpdateError as exc:
        return {"refused": str(exc)}
    except RevocationApplyError as exc:
        return {"failed": str(exc)}
    assert built.revoked is not None
    built.revoked.write_new(Path(header["staged"]), built.serial)
    return {"serial": built.serial, "issued_at": built.issued_at, "snapshot": built.snapshot}


def main() -> int:
    """The child: header line and update on stdin, one JSON answer on stdout."""
    logging.basicConfig(level=logging.WARNING, format="revocation builder: %(message)s")
    source = sys.stdin.buffer
    header = json.loads(source.readline(_HEADER_MAX))
    answer = _child(header, source.read(MAX_UPDATE_BYTES + 1))
    sys.stdout.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
