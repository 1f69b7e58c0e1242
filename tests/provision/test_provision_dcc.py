"""The DCC provisioning commands end to end: keys, a gateway trust list, rules, issued DCCs."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from provisioning.cli import main as provision
from scanner.decide.hc1 import verify_hc1
from scanner.model import ClockState, Reason
from scanner.trust.dcc_rules import parse_rules
from scanner.trust.dcc_signers import parse_signers
from scanner.trust.dcc_store import DccTrust
from scanner.trust.keys import load_public_key
from scanner.trust.revocation_set import RevocationSet

RULES = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "dgc-business-rules-testdata"
AT = "2026-06-01T00:00:00Z"
NOW = 1_780_272_000


def test_dcc_keys_signers_and_issue_make_a_dcc_the_unit_accepts(tmp_path: Path) -> None:
    k = tmp_path / "K"
    assert provision(["keygen", "--role", "dcc", "--out", str(k / "dcc")]) == 0
    assert (k / "dcc.key").stat().st_mode & 0o777 == 0o600
    assert (
        provision(
            [
                "dcc-keygen",
                "--algorithm",
                "PS256",
                "--usage",
                "v",
                "--not-before",
                "2026-01-01T00:00:00Z",
                "--out",
                str(k / "dsc"),
            ]
        )
        == 0
    )
    assert (k / "dsc.key").stat().st_mode & 0o777 == 0o600
    der = (k / "dsc.der").read_bytes()
    # The gateway's trust list format: one DSC entry beside a CSCA the unit has no use for.
    entry = {
        "kid": base64.b64encode(hashlib.sha256(der).digest()[:8]).decode(),
        "timestamp": "2026-01-01T00:00:00Z",
        "country": "VN",
        "certificateType": "DSC",
        "thumbprint": hashlib.sha256(der).hexdigest(),
        "signature": "",
        "rawData": base64.b64encode(der).decode(),
    }
    csca = dict(entry, certificateType="CSCA")
    broken = dict(entry, thumbprint="00" * 32)
    (k / "trustlist.json").write_text(json.dumps([entry, csca, broken]))
    assert (
        provision(
            [
                "dcc-signers",
                "--dcc-key",
                str(k / "dcc.key"),
                "--version",
                "4",
                "--gateway-trust-list",
                str(k / "trustlist.json"),
                "--issued-at",
                AT,
                "--out",
                str(k / "dsc-4.cose"),
            ]
        )
        == 0
    )
    signers = parse_signers((k / "dsc-4.cose").read_bytes(), load_public_key(k / "dcc.pub"))
    assert (signers.version, signers.count) == (4, 1)  # the CSCA and the bad thumbprint left out
    assert (
        provision(
            [
                "dcc-issue",
                "--dsc-key",
                str(k / "dsc.key"),
                "--dsc-cert",
                str(k / "dsc.der"),
                "--family-name",
                "Nguyễn",
                "--given-name",
                "Văn An",
                "--dob",
                "1990-04-01",
                "--date",
                "2026-05-01",
                "--issued-at",
                AT,
                "--out",
                str(k / "vacc"),
            ]
        )
        == 0
    )
    assert (
        provision(
            [
                "dcc-issue",
                "--dsc-key",
                str(k / "dsc.key"),
                "--dsc-cert",
                str(k / "dsc.der"),
                "--kind",
                "test",
                "--family-name",
                "Tran",
                "--given-name",
                "B",
                "--dob",
                "1985",
                "--date",
                "2026-05-31",
                "--issued-at",
                AT,
                "--out",
                str(k / "test"),
            ]
        )
        == 0
    )
    assert (k / "vacc.png").stat().st_size > 0
    dcc = DccTrust(signers=signers)
    text = (k / "vacc.txt").read_text().strip().encode()
    verdict = verify_hc1(text, dcc, RevocationSet.empty(), NOW, ClockState.PINNED)
    assert verdict.accepted, verdict.reason
    test = (k / "test.txt").read_text().strip().encode()
    refused = verify_hc1(test, dcc, RevocationSet.empty(), NOW, ClockState.PINNED)
    assert refused.reason is Reason.WRONG_KEY_USAGE  # the DSC may sign vaccinations only


@pytest.mark.skipif(not RULES.is_dir(), reason="shared vectors not present")
def test_dcc_rules_signs_a_rule_directory_the_unit_evaluates(tmp_path: Path) -> None:
    k = tmp_path / "K"
    assert provision(["keygen", "--role", "dcc", "--out", str(k / "dcc")]) == 0
    out = k / "rules.cose"
    code = provision(
        [
            "dcc-rules",
            "--dcc-key",
            str(k / "dcc.key"),
            "--version",
            "2",
            "--country",
            "VN",
            "--rules",
            str(RULES / "EU"),
            "--value-sets",
            str(RULES / "valuesets" / "valueSets.json"),
            "--issued-at",
            AT,
            "--out",
            str(out),
        ]
    )
    assert code == 0
    rules = parse_rules(out.read_bytes(), load_public_key(k / "dcc.pub"))
    assert len(rules.rules) == 14
    assert "EU/1/20/1528" in rules.value_sets["vaccines-covid-19-names"]


def test_dcc_signers_without_any_dsc_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert provision(["keygen", "--role", "dcc", "--out", str(tmp_path / "dcc")]) == 0
    code = provision(
        [
            "dcc-signers",
            "--dcc-key",
            str(tmp_path / "dcc.key"),
            "--version",
            "1",
            "--out",
            str(tmp_path / "x"),
        ]
    )
    assert code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "no DSC" in err[0]
