"""Wycheproof Ed25519 vectors through the project's own verification path.

Non-canonical S, small-order R and keys, truncated and padded signatures must all
fail in `scanner.formats.cose.verify_signature`, the function every signed object
(pass, bundle, revocation update) is checked with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey, VerifyKey

from scanner.errors import BundleError
from scanner.formats.cose import verify_signature
from scanner.trust.bundle import IssuerKey, encode_bundle, parse_bundle

VECTORS = (
    Path(__file__).resolve().parents[3] / "shared" / "vectors" / "wycheproof" / "ed25519_test.json"
)


def _load() -> dict[str, Any]:
    if not VECTORS.exists():
        pytest.skip(f"Wycheproof vectors not found at {VECTORS}", allow_module_level=True)
    data: dict[str, Any] = json.loads(VECTORS.read_text())
    return data


SUITE = _load()
CASES = [
    (group["publicKey"]["pk"], test) for group in SUITE["testGroups"] for test in group["tests"]
]
VALID = sum(1 for _, t in CASES if t["result"] == "valid")
INVALID = sum(1 for _, t in CASES if t["result"] == "invalid")


def _case_id(case: tuple[str, dict[str, Any]]) -> str:
    _, test = case
    flags = "+".join(test["flags"])
    return f"tc{test['tcId']}-{test['result']}-{flags}"


def test_vector_file_is_the_full_ed25519_suite() -> None:
    assert SUITE["algorithm"] == "EDDSA"
    assert len(CASES) == SUITE["numberOfTests"], (
        f"{len(CASES)} cases, file says {SUITE['numberOfTests']}"
    )
    assert VALID > 0
    assert INVALID > 0
    # Only "valid" and "invalid" appear: no "acceptable" case needs a policy here.
    assert len(CASES) == VALID + INVALID, f"valid={VALID} invalid={INVALID} total={len(CASES)}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_vector_verdict_matches_wycheproof(case: tuple[str, dict[str, Any]]) -> None:
    pk_hex, test = case
    pk = bytes.fromhex(pk_hex)
    msg, sig = bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"])
    if len(pk) != 32:
        with pytest.raises(ValueError, match="32 bytes"):
            VerifyKey(pk)
        return
    verified = verify_signature(VerifyKey(pk), msg, sig)
    expected = test["result"] == "valid"
    assert verified is expected, (
        f"tcId {test['tcId']} ({test['comment']}): expected {test['result']}"
    )


def test_every_vector_gets_the_wycheproof_verdict_in_one_pass() -> None:
    wrong = []
    for pk_hex, test in CASES:
        pk = bytes.fromhex(pk_hex)
        if len(pk) != 32:
            continue
        ok = verify_signature(VerifyKey(pk), bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"]))
        if ok is not (test["result"] == "valid"):
            wrong.append(test["tcId"])
    assert not wrong, (
        f"{len(wrong)} of {len(CASES)} vectors wrong (valid={VALID}, invalid={INVALID}): {wrong}"
    )


@pytest.mark.parametrize("cut", [0, 1, 31, 33, 64])
def test_public_key_that_is_not_32_bytes_is_refused_by_verify_key(cut: int) -> None:
    pk = bytes.fromhex(CASES[0][0])
    wrong = (pk + pk + pk)[:cut]
    with pytest.raises(ValueError, match="32 bytes"):
        VerifyKey(wrong)


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_public_key_that_is_not_32_bytes_is_refused_in_a_bundle(size: int) -> None:
    root = SigningKey.generate()
    issuer = SigningKey.generate().verify_key

    class _Odd:
        def __bytes__(self) -> bytes:
            return b"\x01" * size

    # encode_bundle only calls bytes() on the key, so an odd-sized one can be signed in.
    data = encode_bundle(
        root,
        version=1,
        issued_at=1,
        expires_at=2,
        issuers=[IssuerKey(_Odd(), 0, 2)],  # type: ignore[arg-type]
        revocation_key=issuer,
    )
    with pytest.raises(BundleError):
        parse_bundle(data, root.verify_key)
