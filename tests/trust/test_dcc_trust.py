"""The DSC list and rule set: signed, versioned, persisted atomically, refused when wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from support.hc1 import DAY, DCC_KEY, NOW, dsc

from scanner.formats.hc1.dsc import CertType, Signer, load_der
from scanner.model import TrustState
from scanner.trust.dcc_rules import RuleSetError, encode_rules, parse_rules
from scanner.trust.dcc_signers import DscListError, encode_signers, parse_signers
from scanner.trust.dcc_store import SIGNERS_FILE, DccKeyMissingError, DccRollbackError, DccStore

RULES = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "dgc-business-rules-testdata"


def _list(
    version: int = 1, key: SigningKey = DCC_KEY, signers: list[Signer] | None = None
) -> bytes:
    entries = signers if signers is not None else [load_der(dsc().der)]
    return encode_signers(
        key, version=version, issued_at=NOW, expires_at=NOW + 30 * DAY, signers=entries
    )


def test_a_dsc_list_round_trips_every_field() -> None:
    original = load_der(dsc(usage=(CertType.TEST, CertType.RECOVERY)).der)
    parsed = parse_signers(_list(signers=[original]), DCC_KEY.verify_key)
    assert parsed.lookup(original.kid) == (original,)
    assert parsed.count == 1
    assert parsed.state(NOW) is TrustState.FRESH
    assert parsed.state(NOW + 8 * DAY) is TrustState.STALE
    assert parsed.state(NOW + 31 * DAY) is TrustState.EXPIRED


def test_a_dsc_list_signed_by_another_key_is_refused() -> None:
    with pytest.raises(DscListError, match="not signed"):
        parse_signers(_list(key=SigningKey(b"\x22" * 32)), DCC_KEY.verify_key)


def test_two_dscs_sharing_a_kid_are_both_kept() -> None:
    a = load_der(dsc().der)
    b = Signer(
        a.kid, "FR", load_der(dsc(country="FR").der).spki, a.not_before, a.not_after, a.types
    )
    parsed = parse_signers(_list(signers=[a, b]), DCC_KEY.verify_key)
    assert parsed.lookup(a.kid) == (a, b)


def test_ten_thousand_dscs_load() -> None:
    base = load_der(dsc().der)
    many = [
        Signer(i.to_bytes(8, "big"), "DE", base.spki, base.not_before, base.not_after, base.types)
        for i in range(10_000)
    ]
    parsed = parse_signers(_list(signers=many), DCC_KEY.verify_key)
    assert parsed.count == 10_000
    assert parsed.lookup((9_999).to_bytes(8, "big"))[0].country == "DE"


def test_the_store_refuses_rollback_and_keeps_what_it_had(tmp_path: Path) -> None:
    store = DccStore(tmp_path, lambda: DCC_KEY.verify_key)
    store.install_signers(_list(version=2))
    with pytest.raises(DccRollbackError):
        store.install_signers(_list(version=2))
    with pytest.raises(DccRollbackError):
        store.install_signers(_list(version=1))
    held = store.snapshot().signers
    assert held is not None
    assert held.version == 2
    assert (tmp_path / SIGNERS_FILE).read_bytes() == _list(version=2)
    # A restarted unit reads back the list it held.
    reloaded = DccStore(tmp_path, lambda: DCC_KEY.verify_key).snapshot().signers
    assert reloaded is not None
    assert reloaded.version == 2


def test_without_a_dcc_key_in_the_bundle_nothing_is_accepted(tmp_path: Path) -> None:
    store = DccStore(tmp_path, lambda: None)
    with pytest.raises(DccKeyMissingError):
        store.install_signers(_list())
    assert store.snapshot().signers is None


def test_a_damaged_file_on_disk_leaves_no_signers_rather_than_wrong_ones(tmp_path: Path) -> None:
    (tmp_path / SIGNERS_FILE).write_bytes(_list()[:-5])
    assert DccStore(tmp_path, lambda: DCC_KEY.verify_key).snapshot().signers is None


@pytest.mark.skipif(not RULES.is_dir(), reason="shared vectors not present")
def test_a_rule_set_round_trips_the_gateway_rules_and_value_sets() -> None:
    raw = [json.loads(p.read_text()) for p in sorted((RULES / "EU").rglob("rule.json"))]
    value_sets = json.loads((RULES / "valuesets" / "valueSets.json").read_text())
    data = encode_rules(
        DCC_KEY,
        version=3,
        issued_at=NOW,
        expires_at=NOW + DAY,
        country="VN",
        rules=raw,
        value_sets=value_sets,
    )
    parsed = parse_rules(data, DCC_KEY.verify_key)
    assert parsed.version == 3
    assert parsed.country == "VN"
    assert [r.identifier for r in parsed.rules] == [r["Identifier"] for r in raw]
    assert parsed.rules[0].logic == raw[0]["Logic"]
    assert parsed.value_sets["country-2-codes"] == value_sets["country-2-codes"]
    with pytest.raises(RuleSetError, match="not signed"):
        parse_rules(data, SigningKey(b"\x33" * 32).verify_key)
