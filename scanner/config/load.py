"""The device configuration (`scanner.toml`): typed, frozen, validated once at start.

Sections map one-to-one onto the settings dataclasses of the modules they
configure; `scanner.config.convert` fills them and names the key path of any error.
`checkpoint-scanner check-config FILE` (scanner.config.check) runs this validation, then
the checks `run` makes of the files it names.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from scanner.camera.config import OpenCVConfig, PicamConfig, ReplayConfig, SyntheticConfig
from scanner.config.convert import build, to_table
from scanner.decide.policy import Policy
from scanner.display.config import DisplayConfig
from scanner.errors import ConfigError
from scanner.lights.signals import LightsConfig
from scanner.outbox.queue import MIN_MAX_BYTES
from scanner.trust.clock import TIMESYNC_FLAG
from scanner.uplink.config import (
    DEFAULT_DISCOVERY_PREFIX,
    UplinkConfig,
    check_discovery_prefix,
    parse_broker_url,
)

DEFAULT_PATH = Path("/etc/checkpoint-scanner/scanner.toml")
DEFAULT_STATE_DIR = Path("/var/lib/checkpoint-scanner")
MAX_CONFIG_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class DeviceSection:
    """Who this unit is and where its durable state lives."""

    checkpoint_id: str
    label: str = ""
    device_id: str | None = None  # when set, must match the identity key (catches swapped cards)
    state_dir: Path = DEFAULT_STATE_DIR
    key_file: Path | None = None  # default: <state_dir>/identity/device.key

    def __post_init__(self) -> None:
        if not self.checkpoint_id or "/" in self.checkpoint_id or len(self.checkpoint_id) > 64:
            raise ValueError("checkpoint_id must be 1-64 characters without '/'")

    @property
    def identity_key(self) -> Path:
        """The identity key file: as configured, or under the state directory."""
        return self.key_file or self.state_dir / "identity" / "device.key"


@dataclass(frozen=True, slots=True)
class TrustSection:
    """The pinned root key and where the trust store keeps bundle and revocations."""

    root_pub: Path
    dir: Path | None = None  # default: <state_dir>/trust
    sync_flag: Path = TIMESYNC_FLAG  # present when NTP has synchronised the clock


@dataclass(frozen=True, slots=True)
class CameraSection:
    """Which frame source runs, each source's own table, and how a failed camera is retried."""

    source: Literal["picamera2", "opencv", "replay", "synthetic"] = "picamera2"
    reopen_min_s: float = 1.0
    reopen_max_s: float = 30.0
    stall_s: float = 5.0  # an open camera with no frame for this long has failed
    picamera2: PicamConfig = field(default_factory=PicamConfig)
    opencv: OpenCVConfig = field(default_factory=OpenCVConfig)
    replay: ReplayConfig | None = None
    synthetic: SyntheticConfig | None = None

    def __post_init__(self) -> None:
        if self.source in ("replay", "synthetic") and getattr(self, self.source) is None:
            raise ValueError(f"source {self.source!r} needs a [camera.{self.source}] table")
        if not 0 < self.reopen_min_s <= self.reopen_max_s:
            raise ValueError("need 0 < reopen_min_s <= reopen_max_s")
        if self.stall_s <= 0:
            raise ValueError("stall_s must be positive")


@dataclass(frozen=True, slots=True)
class DecoderSection:
    """Decode effort and debounce."""

    budget_ms: float = 30.0  # extra effort per frame beyond the plain zxing call
    debounce_gap_s: float = 2.0  # the same pass must leave view this long to count again

    def __post_init__(self) -> None:
        if self.budget_ms < 0 or self.debounce_gap_s <= 0:
            raise ValueError("budget_ms must not be negative and debounce_gap_s must be positive")


@dataclass(frozen=True, slots=True)
class OutboxSection:
    """The `[outbox]` section: the queue's size cap and telemetry cadence."""

    max_bytes: int = 512 * 1024 * 1024
    telemetry_every_s: float = 600.0  # a durable health record this often; 0: none

    def __post_init__(self) -> None:
        if self.max_bytes < MIN_MAX_BYTES:
            raise ValueError(f"max_bytes must be at least {MIN_MAX_BYTES}")
        if self.telemetry_every_s < 0:
            raise ValueError("telemetry_every_s must not be negative")


@dataclass(frozen=True, slots=True)
class MqttSection:
    """The broker and credentials; device ID and state directory come from [device]."""

    broker: str
    topic_root: str = "checkpoint/v1"
    username: str | None = None
    password_file: Path | None = None  # a file, so the password is not in a world-readable config
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    heartbeat_s: float = 60.0
    batch_max_events: int = 500
    batch_max_bytes: int = 64 * 1024
    allow_plaintext_credentials: bool = False
    discovery: Literal["none", "homeassistant"] = "none"
    discovery_prefix: str = DEFAULT_DISCOVERY_PREFIX

    def __post_init__(self) -> None:
        address = parse_broker_url(self.broker)  # errors redact any password in the URL
        if address.password is not None:
            raise ValueError("broker: keep the password out of the URL; use password_file")
        check_discovery_prefix(self.discovery_prefix)

    def uplink_config(
        self,
        *,
        device_id: str,
        state_dir: Path,
        password: str | None,
        client_id: str | None = None,
        checkpoint_id: str | None = None,
        label: str = "",
        on_unit: Callable[[Path], Path] = lambda path: path,
    ) -> UplinkConfig:
        """The uplink's settings; the daemon and `selftest` both connect with exactly these.

        `on_unit` maps the unit's paths when a tool looks at a mounted image.
        """

        def mapped(path: Path | None) -> Path | None:
            return None if path is None else on_unit(path)

        return UplinkConfig(
            broker_url=self.broker,
            device_id=device_id,
            state_dir=state_dir,
            topic_root=self.topic_root,
            username=self.username,
            password=password,
            ca_file=mapped(self.ca_file),
            cert_file=mapped(self.cert_file),
            key_file=mapped(self.key_file),
            client_id=client_id,
            heartbeat_interval_s=self.heartbeat_s,
            batch_max_events=self.batch_max_events,
            batch_max_bytes=self.batch_max_bytes,
            allow_plaintext_credentials=self.allow_plaintext_credentials,
            discovery_prefix=self.discovery_prefix if self.discovery == "homeassistant" else None,
            checkpoint_id=checkpoint_id,
            label=label,
        )


def _default_lights() -> LightsConfig:
    return LightsConfig(green_pin=17, red_pin=27)


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated scanner.toml, one frozen section per table."""

    device: DeviceSection
    trust: TrustSection
    policy: Policy = field(default_factory=Policy)
    camera: CameraSection = field(default_factory=CameraSection)
    decoder: DecoderSection = field(default_factory=DecoderSection)
    lights: LightsConfig = field(default_factory=_default_lights)
    outbox: OutboxSection = field(default_factory=OutboxSection)
    mqtt: MqttSection | None = None  # None: events stay in the outbox
    display: DisplayConfig = field(default_factory=DisplayConfig)

    @property
    def trust_dir(self) -> Path:
        """The trust directory: as configured, or under the state directory."""
        return self.trust.dir or self.device.state_dir / "trust"


def parse(text: str, origin: str = "config") -> Config:
    """Validate TOML text; raises ConfigError naming the file and key path."""
    try:
        table: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per nesting level
        raise ConfigError(f"{origin}: nested too deeply to be a configuration") from None
    try:
        return build(Config, table)
    except ConfigError as exc:
        problems = [f"{origin}: {p}" for p in exc.problems]
        raise ConfigError("; ".join(problems), problems) from None


def load(path: Path) -> Config:
    """Read and validate a configuration file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {len(data)} bytes is not a configuration file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return parse(text, str(path))


def effective(config: Config) -> dict[str, Any]:
    """The configuration with every default filled in, as a table."""
    table: dict[str, Any] = to_table(config)
    return table
