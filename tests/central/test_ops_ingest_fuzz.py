"""ops/ingest.py over arbitrary JSON and bytes: it never raises, and what it passes stores."""

from __future__ import annotations

import json
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from ops import ingest
from ops.db import open_database
from ops.store import Store
from scanner.trust.identity import device_id_for
from scanner.uplink import signing

KEY = SigningKey(b"\x07" * 32)
DEVICE = device_id_for(KEY.verify_key)
ROOT = "checkpoint/v1"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["\x00", "\ud800", "scan", "shed", "accept", "online", DEVICE, "s1"]),
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=30,
)
fields = st.sampled_from(
    [
        "seq",
        "kind",
        "through",
        "device_id",
        "outcome",
        "wall_time",
        "trusted_time",
        "pass_id",
        "detail",
        "store",
        "events",
        "count",
        "first_seq",
        "last_seq",
        "state",
        "session",
        "online_since",
        "software",
        "durable",
        "code",
    ]
)


@st.composite
def near_valid(draw: st.DrawFn) -> dict[str, Any]:
    """A document shaped like a batch or a status, with any field replaced by anything."""
    seq = draw(st.integers(min_value=1, max_value=5))
    event = {
        "seq": seq,
        "kind": "scan",
        "device_id": DEVICE,
        "checkpoint_id": "A7",
        "wall_time": 1.7e9,
        "trusted_time": 1_700_000_000,
        "clock": "synced",
        "outcome": "accept",
        "pass_id": "PX1",
    }
    document: dict[str, Any] = {
        "v": 1,
        "device_id": DEVICE,
        "store": "s1",
        "first_seq": seq,
        "last_seq": seq,
        "count": 1,
        "events": [event],
        "state": "online",
        "session": 1,
    }
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from([document, event]))
        target[draw(fields)] = draw(documents)
    return document


payloads = st.one_of(
    st.binary(max_size=300),
    documents.map(lambda d: json.dumps(d).encode()),
    near_valid().map(lambda d: json.dumps(d).encode()),
)
leaves = st.sampled_from(["scans", "alerts", "status", "heartbeat", "other", "scans/x"])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(leaf=leaves, payload=payloads, signed=st.booleans())
def test_any_message_is_parsed_without_raising_and_what_passes_is_stored(
    db_url: str,
    leaf: str,
    payload: bytes,
    signed: bool,
) -> None:
    topic = f"{ROOT}/devices/{DEVICE}/{leaf}"
    properties = tuple(signing.sign(KEY, topic, payload)) if signed else ()
    message = ingest.Message(topic, payload, properties)
    parsed = ingest.parse(message, ROOT, lambda d: KEY.verify_key if d == DEVICE else None)
    assert parsed is None or isinstance(
        parsed,
        ingest.Batch | ingest.Status | ingest.Heartbeat | ingest.TransientAlert | ingest.Refused,
    )
    db = open_database(db_url)
    try:
        store = Store(db)
        store.enroll(DEVICE, bytes(KEY.verify_key), "A7")
        store.apply([(message, parsed)], time.time())  # never raises for what parse returned
        if isinstance(parsed, ingest.Refused) and parsed.keep:
            kept = db.query("SELECT payload FROM quarantine ORDER BY id DESC LIMIT 1")
            assert bytes(kept[0][0]) == payload
    finally:
        db.close()
