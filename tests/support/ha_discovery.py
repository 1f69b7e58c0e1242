"""Home Assistant's documented MQTT discovery schema, for checking the configs a unit retains.

Written from Home Assistant's own documentation (home-assistant/home-assistant.io):
  - https://www.home-assistant.io/integrations/sensor.mqtt/
    (source/_integrations/sensor.mqtt.markdown, "Configuration" variables)
  - https://www.home-assistant.io/integrations/binary_sensor.mqtt/
    (source/_integrations/binary_sensor.mqtt.markdown, "Configuration" variables)
  - https://www.home-assistant.io/integrations/mqtt/ ("MQTT discovery": the topic
    `<discovery_prefix>/<component>/[<node_id>/]<object_id>/config`, node and
    object IDs of `[a-zA-Z0-9_-]`, an empty retained payload deletes the entity)
  - https://developers.home-assistant.io/docs/core/entity/sensor#available-state-classes
Each key maps to the Python types its documented type allows (`template`,
`icon` and `device_class` are strings; a key "can be `null`" allows None).
`platform` is left out on purpose: the docs allow it "only" in device-based
discovery messages, and these are per-entity configs.
"""

from __future__ import annotations

import re
from typing import Any

STR, INT, BOOL, LIST, MAP = (str,), (int,), (bool,), (list,), (dict,)
NULLABLE_STR = (str, type(None))

AVAILABILITY_ITEM = {
    "payload_available": STR,
    "payload_not_available": STR,
    "topic": STR,  # required
    "value_template": STR,
}
DEVICE = {
    "configuration_url": STR,
    "connections": LIST,
    "hw_version": STR,
    "identifiers": (str, list),
    "manufacturer": STR,
    "model": STR,
    "model_id": STR,
    "name": STR,
    "serial_number": STR,
    "suggested_area": STR,
    "sw_version": STR,
    "via_device": STR,
}
COMMON = {
    "availability": LIST,
    "availability_mode": STR,
    "availability_template": STR,
    "availability_topic": STR,
    "device": MAP,
    "enabled_by_default": BOOL,
    "encoding": STR,
    "entity_category": STR,
    "entity_picture": STR,
    "expire_after": INT,
    "force_update": BOOL,
    "icon": STR,
    "json_attributes_template": STR,
    "json_attributes_topic": STR,
    "name": NULLABLE_STR,
    "object_id": STR,
    "payload_available": STR,
    "payload_not_available": STR,
    "qos": INT,
    "state_topic": STR,  # required
    "unique_id": STR,
    "value_template": STR,
}
SENSOR = {
    **COMMON,
    "device_class": NULLABLE_STR,
    "last_reset_value_template": STR,
    "options": LIST,
    "state_class": STR,
    "suggested_display_precision": INT,
    "unit_of_measurement": NULLABLE_STR,
}
BINARY_SENSOR = {
    **COMMON,
    "device_class": NULLABLE_STR,
    "off_delay": INT,
    "payload_off": STR,
    "payload_on": STR,
}
SCHEMAS = {"sensor": SENSOR, "binary_sensor": BINARY_SENSOR}
STATE_CLASSES = ("measurement", "total", "total_increasing")
AVAILABILITY_MODES = ("all", "any", "latest")
DISCOVERY_ID = re.compile(r"[a-zA-Z0-9_-]+")


def _typed(where: str, value: Any, allowed: tuple[type, ...]) -> list[str]:
    # bool is an int in Python; the docs keep them apart.
    if isinstance(value, bool) and bool not in allowed:
        return [f"{where}: {value!r} is not {allowed}"]
    return [] if isinstance(value, allowed) else [f"{where}: {value!r} is not {allowed}"]


def problems(topic: str, prefix: str, config: dict[str, Any]) -> list[str]:
    """Every way this retained config breaks the documented schema; [] when it fits."""
    found: list[str] = []
    parts = topic.split("/")
    start = len(prefix.split("/"))
    if topic.split("/")[:start] != prefix.split("/") or len(parts) != start + 4:
        return [f"{topic}: not <prefix>/<component>/<node_id>/<object_id>/config"]
    component, node_id, object_id, last = parts[start:]
    if last != "config" or component not in SCHEMAS:
        return [f"{topic}: component {component!r} or last level {last!r}"]
    for level in (node_id, object_id):
        if not DISCOVERY_ID.fullmatch(level):
            found.append(f"{topic}: {level!r} is not [a-zA-Z0-9_-]+")
    schema = SCHEMAS[component]
    for key, value in config.items():
        if key not in schema:
            found.append(f"{topic}: {key!r} is not a documented {component} key")
        else:
            found += _typed(f"{topic} {key}", value, schema[key])
    if "state_topic" not in config:
        found.append(f"{topic}: state_topic is required")
    if "availability" in config and "availability_topic" in config:
        found.append(f"{topic}: availability and availability_topic must not be used together")
    for item in config.get("availability", []):
        if not isinstance(item, dict) or "topic" not in item:
            found.append(f"{topic}: an availability entry needs a topic")
            continue
        for key, value in item.items():
            if key not in AVAILABILITY_ITEM:
                found.append(f"{topic}: availability key {key!r} is not documented")
            else:
                found += _typed(f"{topic} availability {key}", value, AVAILABILITY_ITEM[key])
    if config.get("availability_mode", "latest") not in AVAILABILITY_MODES:
        found.append(f"{topic}: availability_mode {config['availability_mode']!r}")
    device = config.get("device")
    if device is not None:
        if "unique_id" not in config:
            found.append(f"{topic}: device only works when unique_id is set")
        if not isinstance(device, dict) or not ({"identifiers", "connections"} & set(device)):
            found.append(f"{topic}: device needs identifiers or connections")
        else:
            for key, value in device.items():
                if key not in DEVICE:
                    found.append(f"{topic}: device key {key!r} is not documented")
                else:
                    found += _typed(f"{topic} device {key}", value, DEVICE[key])
    if component == "sensor":
        if "state_class" in config and config["state_class"] not in STATE_CLASSES:
            found.append(f"{topic}: state_class {config['state_class']!r}")
        if "options" in config:
            if config.get("device_class") != "enum" or not config["options"]:
                found.append(f"{topic}: options need device_class enum and at least one option")
            if {"state_class", "unit_of_measurement"} & set(config):
                found.append(f"{topic}: options exclude state_class and unit_of_measurement")
        if config.get("entity_category", "diagnostic") != "diagnostic":
            found.append(f"{topic}: a sensor's entity_category must be diagnostic")
        if "last_reset_value_template" in config and config.get("state_class") != "total":
            found.append(f"{topic}: last_reset_value_template needs state_class total")
    return found
