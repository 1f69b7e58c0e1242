"""A set of sample passes, one of each kind a checkpoint meets, signed by throwaway keys.

Used by `demo`, the synthetic camera, the self-test's test card and the tests,
so they all exercise the same real signed inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cbor2
from nacl.signing import SigningKey

from scanner.demo.dcc_samples import REVOKED_PASS_ID
from scanner.formats.cose import COSE_SIGN1_TAG, deterministic_dumps, parse_sign1, sign1
from scanner.formats.cp1 import qrtext
from scanner.formats.cp1.claims import encode_claims
from scanner.model import Holder, PassInfo, PassKind, Reason
from scanner.trust.bundle import IssuerKey, encode_bundle
from scanner.trust.keys import public_key_text, write_private_key
from scanner.trust.revocation_update import encode_update

DAY = 86400


@dataclass(frozen=True, slots=True)
class Sample:
    """One QR text and the verdict it must get."""

    name: str
    text: str
    reason: Reason | None  # None: accepted


@dataclass(frozen=True, slots=True)
class SampleKeys:
    """The throwaway keys the samples are signed with."""

    root: SigningKey
    issuer: SigningKey
    revocation: SigningKey
    ops: SigningKey
    rogue: SigningKey  # an issuer no bundle lists
    dcc: SigningKey | None = None  # signs the EU DCC trust objects (scanner.demo.dcc_samples)


@dataclass(frozen=True, slots=True)
class SampleSet:
    """The samples, the bundle and revocations that judge them, and the time they were made for."""

    keys: SampleKeys
    now: int
    bundle: bytes
    revocations: bytes  # serial 1, revoking the "revoked" sample
    samples: tuple[Sample, ...]

    def by_name(self, name: str) -> Sample:
        """The sample called `name`."""
        return next(s for s in self.samples if s.name == name)

    def write(self, directory: Path) -> None:
        """Write public keys, bundle, revocation update, and each sample's .txt (no PNGs)."""
        directory.mkdir(parents=True, exist_ok=True)
        for role in ("root", "issuer", "revocation", "ops"):
            key: SigningKey = getattr(self.keys, role)
            (directory / f"{role}.pub").write_text(public_key_text(key.verify_key))
        (directory / "bundle.cose").write_bytes(self.bundle)
        (directory / "rev-1.cose").write_bytes(self.revocations)
        for sample in self.samples:
            (directory / f"{sample.name}.txt").write_text(sample.text + "\n")

    def write_private(self, directory: Path) -> None:
        """The private keys too (mode 0600), for tools that sign more."""
        for role in ("root", "issuer", "revocation", "ops"):
            write_private_key(directory / f"{role}.key", getattr(self.keys, role), overwrite=True)


def _pass(key: SigningKey, info: PassInfo) -> str:
    return qrtext.wrap(sign1(encode_claims(info), key))


def _tampered(text: str) -> str:
    """The same envelope with one character of the holder's name changed: signature fails."""
    envelope = parse_sign1(qrtext.unwrap(text.encode()))
    payload = envelope.payload.replace(b"TRAN THI B", b"TRAN THI C")
    forged = deterministic_dumps(
        cbor2.CBORTag(COSE_SIGN1_TAG, [envelope.protected, {}, payload, envelope.signature])
    )
    return qrtext.wrap(forged)


def sample_info(now: int, **changes: Any) -> PassInfo:
    """A typical travel pass, issued a day before `now` for 30 days; `changes` replace fields."""
    typical = PassInfo(
        pass_id="P-000001",
        issuer="VN-CP",
        kid=b"",
        kind=PassKind.TRAVEL,
        holder=Holder("NGUYỄN VĂN AN", "1234"),
        issued_at=now - DAY,
        not_before=now - DAY,
        expires_at=now + 30 * DAY,
    )
    return replace(typical, **changes)


def build(now: int, keys: SampleKeys | None = None) -> SampleSet:
    """Samples valid at `now`: accept, test card, and one of each common reject."""
    k = keys or SampleKeys(*(SigningKey.generate() for _ in range(6)))
    base = sample_info(now)
    victim = replace(base, pass_id="P-000004", holder=Holder("TRAN THI B", "4321"))
    samples = (
        Sample("valid", _pass(k.issuer, base), None),
        Sample(
            "test-card",
            _pass(
                k.issuer,
                replace(
                    base,
                    pass_id="T-TECH-01",
                    kind=PassKind.TEST,
                    holder=Holder("TEST CARD", "0000"),
                ),
            ),
            None,
        ),
        Sample(
            "expired",
            _pass(
                k.issuer,
                replace(
                    base,
                    pass_id="P-000002",
                    issued_at=now - 40 * DAY,
                    not_before=now - 40 * DAY,
                    expires_at=now - 10 * DAY,
                ),
            ),
            Reason.EXPIRED,
        ),
        Sample(
            "not-yet-valid",
            _pass(k.issuer, replace(base, pass_id="P-000003", not_before=now + 5 * DAY)),
            Reason.NOT_YET_VALID,
        ),
        Sample("forged", _tampered(_pass(k.issuer, victim)), Reason.BAD_SIGNATURE),
        Sample(
            "unknown-key", _pass(k.rogue, replace(base, pass_id="P-000005")), Reason.UNKNOWN_KEY
        ),
        Sample("revoked", _pass(k.issuer, replace(base, pass_id="P-000666")), Reason.REVOKED),
        Sample("not-a-pass", "https://example.org/menu?table=12", Reason.NOT_A_PASS),
        Sample("malformed", "CP1:THIS IS NOT BASE45 OF A PASS", Reason.MALFORMED),
    )
    bundle = encode_bundle(
        k.root,
        version=1,
        issued_at=now - DAY,
        expires_at=now + 365 * DAY,
        issuers=[IssuerKey(k.issuer.verify_key, 0, now + 365 * DAY)],
        revocation_key=k.revocation.verify_key,
        ops_key=k.ops.verify_key,
        dcc_key=k.dcc.verify_key if k.dcc is not None else None,
    )
    # One update revokes a CP1 pass and an EU DCC (by the hash of its ci) alike.
    revoked = ["P-000666", REVOKED_PASS_ID]
    revocations = encode_update(k.revocation, serial=1, issued_at=now - DAY, added=revoked)
    return SampleSet(k, now, bundle, revocations, samples)
