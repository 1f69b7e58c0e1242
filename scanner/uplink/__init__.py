"""Store-and-forward MQTT uplink: status, heartbeats, signed scan batches, alerts, downlink."""

from scanner.uplink.config import BrokerAddress, UplinkConfig, parse_broker_url
from scanner.uplink.inbound import DownlinkKind, DownlinkMessage
from scanner.uplink.service import Uplink, UplinkStats
from scanner.uplink.topics import Topics

__all__ = [
    "BrokerAddress",
    "DownlinkKind",
    "DownlinkMessage",
    "Topics",
    "Uplink",
    "UplinkConfig",
    "UplinkStats",
    "parse_broker_url",
]
