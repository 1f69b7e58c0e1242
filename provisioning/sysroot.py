"""The unit's filesystem as provisioning sees it: device paths, the service user, staged writes."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from scanner.cli.kit import CommandError
from scanner.config.load import Config, parse
from scanner.errors import ConfigError, IdentityError
from scanner.trust.files import fsync_dir
from scanner.trust.identity import Identity, load_identity

CONFIG_PATH = Path("/etc/checkpoint-scanner/scanner.toml")
ROOT_PUB_PATH = Path("/etc/checkpoint-scanner/root.pub")
PASSWORD_PATH = Path("/etc/checkpoint-scanner/mqtt-password")
TEST_CARD_PATH = Path("/etc/checkpoint-scanner/test-card.txt")
STATE_DIR = Path("/var/lib/checkpoint-scanner")
SERVICE_USER = "checkpoint"


def on_unit(sysroot: Path, device_path: Path) -> Path:
    """Where an absolute on-device path lives under `sysroot` (the config names device paths)."""
    return sysroot / device_path.relative_to(device_path.anchor)


def service_owner(sysroot: Path) -> tuple[int, int] | None:
    """Uid and gid of the service user in the unit's own /etc/passwd, when run as root.

    Read from the sysroot rather than the host's user database: a mounted image
    may number its users differently from the machine preparing it.
    """
    if os.geteuid() != 0:
        return None
    try:
        lines = on_unit(sysroot, Path("/etc/passwd")).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == SERVICE_USER:
            try:
                return int(fields[2]), int(fields[3])
            except ValueError:
                return None
    return None


def read_optional(path: Path) -> bytes | None:
    """The file's bytes, None if it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


@dataclass
class Staging:
    """Files written under temp names, then renamed into place together, or all removed.

    A full disk or a bad input found half way must leave the unit as it was:
    every write goes to a temp file beside its target first, and the renames
    (which need no space) happen only once every file is written and synced.
    """

    owner: tuple[int, int] | None = None
    _staged: list[tuple[Path, Path]] = field(default_factory=list)
    _created: list[Path] = field(default_factory=list)

    def directory(self, path: Path, mode: int = 0o755, owned: bool = False) -> None:
        """Create `path` (with `mode`) and missing parents (0755); undone by `abort`."""
        missing = []
        probe = path
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        for directory in reversed(missing):
            leaf = directory == path
            directory.mkdir()
            self._created.append(directory)
            directory.chmod(mode if leaf else 0o755)
            if leaf and owned and self.owner is not None:
                os.chown(directory, *self.owner)

    def file(self, path: Path, data: bytes, mode: int = 0o644, owned: bool = False) -> None:
        """Write `data` to a temp file beside `path` (created with `mode`, never wider)."""
        self.directory(path.parent)
        tmp = path.with_name(f".{path.name}.provision{os.getpid()}")
        self._staged.append((tmp, path))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)
            if owned and self.owner is not None:
                os.fchown(out.fileno(), *self.owner)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())

    def commit(self) -> None:
        """Rename every staged file into place and sync the directories."""
        for tmp, final in self._staged:
            os.replace(tmp, final)
        for directory in {final.parent for _, final in self._staged}:
            fsync_dir(directory)
        self._staged.clear()
        self._created.clear()

    def abort(self) -> None:
        """Remove temp files and the directories this staging created."""
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        for directory in reversed(self._created):
            with contextlib.suppress(OSError):  # not empty: something else wrote there
                directory.rmdir()
        self._staged.clear()
        self._created.clear()


def load_unit(sysroot: Path) -> tuple[Config, Identity]:
    """The unit's validated config and its identity, which must be the one the config names."""
    path = on_unit(sysroot, CONFIG_PATH)
    data = read_optional(path)
    if data is None:
        raise CommandError(f"{path}: no configuration; run `device init` first")
    try:
        config = parse(data.decode("utf-8"), str(path))
        identity = load_identity(
            on_unit(sysroot, config.device.identity_key), config.device.device_id
        )
    except UnicodeDecodeError:
        raise CommandError(f"{path}: not UTF-8 text") from None
    except (ConfigError, IdentityError) as exc:
        raise CommandError(str(exc)) from None
    return config, identity


def commit(staging: Staging, action: str) -> None:
    """Commit the staged files, or abort them and raise CommandError."""
    try:
        staging.commit()
    except OSError as exc:
        staging.abort()
        raise CommandError(f"{action}: cannot write {exc.filename}: {exc.strerror}") from None


def stage(staging: Staging, files: dict[Path, tuple[bytes, int, bool]], action: str) -> None:
    """Stage `files` (path -> data, mode, owned by the service user), or abort and raise."""
    try:
        for path, (data, mode, owned) in files.items():
            staging.file(path, data, mode, owned)
    except OSError as exc:
        staging.abort()
        raise CommandError(
            f"{action}: cannot write {exc.filename}: {exc.strerror}; nothing was changed"
        ) from None
