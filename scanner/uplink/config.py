"""Uplink settings: a frozen ``UplinkConfig`` and the broker URL it names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_TOPIC_ROOT = "checkpoint/v1"
DEFAULT_DISCOVERY_PREFIX = "homeassistant"  # Home Assistant's own default
_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
_TOPIC_FORBIDDEN = ("+", "#", "\x00")


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is and how to log in, parsed from ``mqtt://`` or ``mqtts://``."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None


def redact_url(url: str) -> str:
    """The URL as it may be shown: any password replaced by `***`."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    userinfo, at, host = rest.partition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***{at}{host}" if ":" in userinfo else url


def parse_broker_url(url: str) -> BrokerAddress:
    """Parse ``mqtt[s]://[user[:password]@]host[:port]``; credentials may be percent-encoded.

    Errors name the URL with its password redacted: they end up in the journal.
    """
    shown = redact_url(url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"broker URL {shown!r}: scheme must be mqtt or mqtts")
    if not parts.hostname:
        raise ValueError(f"broker URL {shown!r}: no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"broker URL {shown!r}: no path, query or fragment allowed")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"broker URL {shown!r}: bad port") from None
    return BrokerAddress(
        host=parts.hostname,
        port=port if port is not None else _DEFAULT_PORTS[scheme],
        tls=scheme == "mqtts",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def check_discovery_prefix(prefix: str) -> None:
    """A plain topic prefix: no wildcards, no empty level (the ACL matches it literally)."""
    if not prefix or any(char in prefix for char in _TOPIC_FORBIDDEN) or "" in prefix.split("/"):
        raise ValueError(
            "discovery_prefix: a topic prefix without + # NUL or empty levels, e.g. homeassistant"
        )


def check_credentials_transport(address: BrokerAddress, allowed: bool, name: str) -> None:
    """Refuse a password sent in clear to another machine unless explicitly allowed."""
    remote = address.host not in _LOOPBACK and not address.host.startswith("127.")
    if address.password and not address.tls and remote and not allowed:
        raise ValueError(
            f"{name}: a password would cross the network in clear; use mqtts:// "
            "(or set allow_plaintext_credentials = true on a trusted network)"
        )


@dataclass(frozen=True, slots=True)
class UplinkConfig:
    """Everything the uplink needs, validated at construction; field names are the TOML keys."""

    broker_url: str
    device_id: str
    state_dir: Path  # where the session counter is kept (the outbox's directory is fine)
    topic_root: str = DEFAULT_TOPIC_ROOT
    username: str | None = None  # overrides the URL's
    password: str | None = None  # overrides the URL's
    ca_file: Path | None = None  # mqtts: None trusts the system's CAs
    cert_file: Path | None = None  # client certificate for mutual TLS
    key_file: Path | None = None
    client_id: str | None = None  # default: the device ID (what broker ACLs match with %c)
    keepalive_s: int = 30
    heartbeat_interval_s: float = 60.0
    batch_max_events: int = 500
    batch_max_bytes: int = 64 * 1024
    reconnect_min_delay_s: float = 1.0
    reconnect_max_delay_s: float = 120.0
    connect_timeout_s: float = 10.0
    ack_timeout_s: float = 30.0
    poll_interval_s: float = 1.0  # how often the outbox is looked at without a wake()
    allow_plaintext_credentials: bool = False  # a password over mqtt:// to another host
    # Home Assistant MQTT discovery under this prefix (scanner.uplink.discovery); None: off.
    discovery_prefix: str | None = None
    # For people reading status and heartbeats (MQTT Explorer, dashboards): not a key.
    checkpoint_id: str | None = None
    label: str = ""

    def __post_init__(self) -> None:
        address = parse_broker_url(self.broker_url)
        check_credentials_transport(
            self.broker, self.allow_plaintext_credentials, "uplink.broker_url"
        )
        for name in ("device_id", "topic_root"):
            value: str = getattr(self, name)
            if not value or any(char in value for char in _TOPIC_FORBIDDEN):
                raise ValueError(f"uplink.{name}: must be non-empty without + # or NUL")
        if "/" in self.device_id:
            raise ValueError("uplink.device_id: must not contain /")
        if self.topic_root.startswith("/") or self.topic_root.endswith("/"):
            raise ValueError("uplink.topic_root: no leading or trailing /")
        if self.discovery_prefix is not None:
            check_discovery_prefix(self.discovery_prefix)
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("uplink.cert_file and uplink.key_file: give both or neither")
        if not address.tls and (self.ca_file or self.cert_file):
            raise ValueError("uplink.ca_file/cert_file: need an mqtts:// broker_url")
        positive = (
            "keepalive_s",
            "heartbeat_interval_s",
            "batch_max_events",
            "reconnect_min_delay_s",
            "connect_timeout_s",
            "ack_timeout_s",
            "poll_interval_s",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"uplink.{name}: must be positive")
        if self.batch_max_bytes < 1024:
            raise ValueError("uplink.batch_max_bytes: must be at least 1024")
        if self.reconnect_max_delay_s < self.reconnect_min_delay_s:
            raise ValueError("uplink.reconnect_max_delay_s: must be >= reconnect_min_delay_s")

    @property
    def broker(self) -> BrokerAddress:
        """The parsed broker address with the configured credentials applied."""
        address = parse_broker_url(self.broker_url)
        return BrokerAddress(
            host=address.host,
            port=address.port,
            tls=address.tls,
            username=self.username if self.username is not None else address.username,
            password=self.password if self.password is not None else address.password,
        )

    @property
    def effective_client_id(self) -> str:
        """The MQTT client ID: as configured, or the device ID."""
        return self.client_id or self.device_id
