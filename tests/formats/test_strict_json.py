"""Strict JSON where JSON is signed or ingested: one text, one meaning, like the CBOR rules.

A duplicate key, NaN or Infinity, or a lone surrogate makes a document malformed
everywhere one is parsed (central's batches, enrollment requests, sealed
credentials, the unit's revocation record, EU DCC rules); anything else parses
exactly as `json.loads` does.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from ops import ingest
from provisioning.enrollment import EnrollmentError, sign_request, verify_request
from scanner.formats.strict_json import StrictJsonError, loads
from scanner.trust.freshness import RecordError, RevocationRecord
from scanner.trust.identity import device_id_for
from scanner.uplink import signing

# A tree of JSON values whose objects are lists of (key, value) pairs, so a
# test can write an object with a key twice, which no dict can hold.
Pairs = list[tuple[str, Any]]


class Obj(list):  # type: ignore[type-arg]
    """An object as its pairs, in order."""


LONE = ["\ud800", "\udbff", "\udc00", "\udfff", "a\ud83d", "\ude00b"]
keys = st.text(max_size=6) | st.sampled_from(["seq", "pass_id", "kind", *LONE])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),  # hypothesis leaves surrogates out of text: added below
    st.sampled_from([*LONE, "\ud83d\ude00", "\U0001f600", "\\ud800", "x\\"]),
)
trees = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.lists(st.tuples(keys, inner), max_size=4).map(Obj)
    ),
    max_leaves=25,
)


def text(tree: Any) -> str:
    if isinstance(tree, Obj):
        return "{" + ",".join(f"{json.dumps(k)}:{text(v)}" for k, v in tree) + "}"
    if isinstance(tree, list):
        return "[" + ",".join(text(v) for v in tree) + "]"
    return json.dumps(tree)  # NaN and Infinity as Python writes them; strings \u-escaped


def _lone(value: str) -> bool:
    # As JSON reads it back: an escaped high surrogate before a low one is one character.
    try:
        json.loads(json.dumps(value)).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def faults(tree: Any) -> set[str]:
    """What a strict reader must refuse in this tree."""
    found: set[str] = set()
    if isinstance(tree, Obj):
        names = [k for k, _ in tree]
        if len(set(names)) != len(names):
            found.add("duplicate key")
        found |= {"lone surrogate" for k in names if _lone(k)}
        for _, value in tree:
            found |= faults(value)
    elif isinstance(tree, list):
        for value in tree:
            found |= faults(value)
    elif isinstance(tree, float) and not math.isfinite(tree):
        found.add("not a JSON number")
    elif isinstance(tree, str) and _lone(tree):
        found.add("lone surrogate")
    return found


@settings(max_examples=500, deadline=None)
@given(tree=trees)
def test_strict_json_refuses_exactly_duplicates_non_numbers_and_lone_surrogates(
    tree: Any,
) -> None:
    written = text(tree)
    expected = faults(tree)
    if not expected:
        assert loads(written.encode()) == json.loads(written)
        return
    with pytest.raises(StrictJsonError) as refused:
        loads(written.encode(), "batch")
    message = str(refused.value)
    assert message.startswith("batch: ")
    assert any(fault in message for fault in expected), (message, expected)


@settings(max_examples=200, deadline=None)
@given(tree=trees, name=st.sampled_from(["seq", "pass_id"]))
def test_a_repeated_key_is_never_taken_by_its_last_copy(tree: Any, name: str) -> None:
    """Wherever a second `seq` or `pass_id` is slipped into an object, the object is refused."""
    doubled = Obj([(name, 1), ("x", tree), (name, 2)])
    # A fault inside `tree` is met first (inner objects close first); else it is this one.
    shown = f"duplicate key '{name}'" if not faults(tree) else None
    with pytest.raises(StrictJsonError, match=shown):
        loads(text(doubled))


def test_bytes_that_are_not_utf8_and_bad_json_say_so() -> None:
    with pytest.raises(StrictJsonError, match="not UTF-8"):
        loads(b'{"a":"\xff"}')
    with pytest.raises(StrictJsonError, match="not UTF-8"):
        loads(b'{"a":"\xed\xa0\x80"}')  # a surrogate written as UTF-8 bytes
    with pytest.raises(StrictJsonError, match="not JSON"):
        loads(b'{"a":')
    with pytest.raises(StrictJsonError, match="nested too deeply"):
        loads(b"[" * 100_000 + b"]" * 100_000)


# -- where it is used -------------------------------------------------------------

KEY = SigningKey(b"\x09" * 32)
DEVICE = device_id_for(KEY.verify_key)
ROOT = "checkpoint/v1"


def _event(seq: int, pass_id: str) -> str:
    fields = {
        "kind": "scan", "device_id": DEVICE, "checkpoint_id": "HN-1", "wall_time": time.time(),
        "clock": "synced", "outcome": "accept", "trust": "fresh",
    }  # fmt: skip
    return json.dumps({"seq": seq, **fields, "pass_id": pass_id})[:-1]


def _ingest(events: list[str], first: int = 1, last: int = 1) -> ingest.Parsed:
    head = {"v": 1, "device_id": DEVICE, "store": "s1", "session": 1, "sent_at": 1.0,
            "first_seq": first, "last_seq": last, "count": len(events)}  # fmt: skip
    body = ",".join(e + "}" for e in events)
    payload = (json.dumps(head)[:-1] + f',"events":[{body}]}}').encode()
    topic = f"{ROOT}/devices/{DEVICE}/scans"
    message = ingest.Message(topic, payload, tuple(signing.sign(KEY, topic, payload)))
    return ingest.parse(message, ROOT, lambda device: KEY.verify_key)


def test_central_refuses_a_signed_batch_with_a_second_pass_id_or_seq_as_malformed() -> None:
    assert isinstance(_ingest([_event(1, "PX1")]), ingest.Batch)
    for forged in (
        [_event(1, "PX1") + ',"pass_id":"PX-REVOKED"'],
        [_event(1, "PX1") + ',"seq":2'],
        [_event(1, "PX1") + ',"decode_ms":NaN'],
        [_event(1, "PX1") + ',"reason":"\\udc00"'],
    ):
        refused = _ingest(forged)
        assert isinstance(refused, ingest.Refused)
        assert refused.reason == "bad_scans"
        assert refused.keep  # quarantined verbatim, not lost


def test_an_enrollment_request_with_a_duplicate_key_is_refused_with_the_reason() -> None:
    request = sign_request(SigningKey.generate(), {"checkpoint_id": "HN-HBT-01"})
    good = json.dumps(request)
    assert verify_request(good.encode()).checkpoint_id == "HN-HBT-01"
    doubled = good[:-1] + ', "checkpoint_id": "ELSEWHERE"}'
    with pytest.raises(EnrollmentError, match="duplicate key 'checkpoint_id'"):
        verify_request(doubled.encode())


def test_the_units_revocation_record_with_a_second_serial_is_damaged_not_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "revocations.json"
    RevocationRecord(serial=7, newest_seen=7).save(path)
    assert RevocationRecord.load(path) == RevocationRecord(serial=7, newest_seen=7)
    path.write_text(path.read_text().strip()[:-1] + ', "serial": 9000}\n')
    with pytest.raises(RecordError, match="duplicate key 'serial'"):
        RevocationRecord.load(path)
