"""Home Assistant MQTT discovery: the unit as one device, read from its own status and heartbeat.

Optional (`[mqtt] discovery = "homeassistant"`). Each entity's retained
config points at a topic the unit already publishes, with a `value_template`
that picks a heartbeat or status field: no second stream of data. Topics and
keys follow Home Assistant's documentation:
  - discovery topic `<prefix>/<component>/<node_id>/<object_id>/config`, node
    and object IDs of `[a-zA-Z0-9_-]`, an empty retained payload removes the
    entity: https://www.home-assistant.io/integrations/mqtt/ (MQTT discovery)
  - sensor keys: https://www.home-assistant.io/integrations/sensor.mqtt/
  - binary sensor keys: https://www.home-assistant.io/integrations/binary_sensor.mqtt/
Nothing here names a person, a pass or a QR text: the device's name is its
label (where it stands) or its checkpoint ID.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import scanner
from scanner.model import DeviceState, RevocationState, TrustState
from scanner.uplink.config import UplinkConfig
from scanner.uplink.topics import Topics

MODEL = "checkpoint-scanner"
MANUFACTURER = "checkpoint-scanner project"
_ONLINE, _OFFLINE = "online", "offline"  # status documents' `state` (docs/mqtt.md 2)


@dataclass(frozen=True, slots=True)
class Entity:
    """One Home Assistant entity: where its config goes and what it reads."""

    component: str  # "sensor" or "binary_sensor"
    object_id: str
    name: str
    heartbeat: bool  # reads the heartbeat (else the status document)
    fields: dict[str, object]


def _enum(values: type[DeviceState] | type[TrustState] | type[RevocationState]) -> list[str]:
    return [member.value for member in values]


# The entities, in the order they are announced; object IDs are part of the
# topic and unique ID, so they never change once released.
ENTITIES = (
    Entity(
        "sensor",
        "state",
        "State",
        True,
        {
            "value_template": "{{ value_json.state }}",
            "device_class": "enum",
            "options": _enum(DeviceState),
        },
    ),
    Entity(
        "sensor",
        "decisions_per_min",
        "Decisions per minute",
        True,
        {
            "value_template": "{{ value_json.decisions_per_min }}",
            "unit_of_measurement": "decisions/min",
            "state_class": "measurement",
        },
    ),
    Entity(
        "sensor",
        "outbox_depth",
        "Outbox depth",
        True,
        {
            "value_template": "{{ value_json.outbox.depth }}",
            "unit_of_measurement": "events",
            "state_class": "measurement",
        },
    ),
    Entity(
        "sensor",
        "trust_bundle",
        "Trust bundle",
        True,
        {
            "value_template": "{{ value_json.trust.state }}",
            "device_class": "enum",
            "options": _enum(TrustState),
        },
    ),
    Entity(
        "sensor",
        "revocations",
        "Revocation data",
        True,
        {
            # `revocations` is null before the unit has trust data.
            "value_template": (
                "{{ value_json.revocations.state if value_json.revocations else None }}"
            ),
            "device_class": "enum",
            "options": _enum(RevocationState),
        },
    ),
    Entity(
        "sensor",
        "cpu_temperature",
        "CPU temperature",
        True,
        {
            "value_template": "{{ value_json.cpu_temp_c }}",  # null off a Pi: unknown
            "device_class": "temperature",
            "unit_of_measurement": "°C",
            "state_class": "measurement",
            "entity_category": "diagnostic",
        },
    ),
    Entity(
        "binary_sensor",
        "connectivity",
        "Broker connection",
        False,
        {
            # The retained status with its last will: "offline" when the link is lost.
            "value_template": "{{ value_json.state }}",
            "payload_on": _ONLINE,
            "payload_off": _OFFLINE,
            "device_class": "connectivity",
        },
    ),
)


def config_topic(prefix: str, device_id: str, entity: Entity) -> str:
    """Where one entity's retained config goes."""
    return f"{prefix}/{entity.component}/{device_id}/{entity.object_id}/config"


def config_topics(prefix: str, device_id: str) -> list[str]:
    """Every retained config topic of one unit: what is published, and what decommission empties."""
    return [config_topic(prefix, device_id, entity) for entity in ENTITIES]


def configs(config: UplinkConfig, topics: Topics) -> list[tuple[str, bytes]]:
    """The retained discovery configs of this unit, as (topic, JSON payload); [] when off."""
    prefix = config.discovery_prefix
    if prefix is None:
        return []
    device = {
        "identifiers": [config.device_id],
        "name": config.label or config.checkpoint_id or config.device_id,
        "model": MODEL,
        "manufacturer": MANUFACTURER,
        "sw_version": scanner.__version__,
    }
    # The heartbeat is live only: three missed ones and its readings are stale.
    expire_after = max(1, round(3 * config.heartbeat_interval_s))
    out = []
    for entity in ENTITIES:
        document: dict[str, object] = {
            "name": entity.name,
            "unique_id": f"{config.device_id}_{entity.object_id}",
            "device": device,
            "state_topic": topics.heartbeat if entity.heartbeat else topics.status,
            **entity.fields,
        }
        if entity.heartbeat:
            # Unavailable while the unit is offline; the connectivity sensor itself
            # stays available and shows "off" instead.
            document["availability"] = [
                {
                    "topic": topics.status,
                    "value_template": "{{ value_json.state }}",
                    "payload_available": _ONLINE,
                    "payload_not_available": _OFFLINE,
                }
            ]
            document["expire_after"] = expire_after
        payload = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        out.append((config_topic(prefix, config.device_id, entity), payload.encode()))
    return out
