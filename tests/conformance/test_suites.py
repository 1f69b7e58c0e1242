"""The EU suites in ../shared/vectors through the runners: full agreement but listed defects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.conformance import certlogic, cli, dcc, rules

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"

pytestmark = pytest.mark.skipif(not VECTORS.is_dir(), reason="shared vectors not present")


def _run(main: object, suite: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code = main([str(VECTORS / suite), "--json"])  # type: ignore[operator]
    report = json.loads(capsys.readouterr().out)
    disagreements = [c for c in report["checks"] if c["result"] == "disagree"]
    assert disagreements == []
    assert code == 0
    return report


def test_every_dcc_case_agrees_stage_by_stage(capsys: pytest.CaptureFixture[str]) -> None:
    report = _run(dcc.main, "dgc-testdata", capsys)
    assert report["cases"] == 80
    assert report["totals"]["agree"] > 400  # type: ignore[index]
    fields = {c["check"] for c in report["checks"]}  # type: ignore[union-attr]
    # The QR image goes through the project's decoder, and every stage is exercised.
    assert {"EXPECTEDPICTUREDECODE", "EXPECTEDVERIFY", "EXPECTEDKEYUSAGE"} <= fields


def test_every_rule_test_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    report = _run(rules.main, "dgc-business-rules-testdata", capsys)
    assert report["totals"]["agree"] == 384  # type: ignore[index]


def test_every_certlogic_assertion_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    report = _run(certlogic.main, "certlogic", capsys)
    assert report["totals"]["agree"] == 144  # type: ignore[index]


def test_dispatcher_names_the_runners_on_a_wrong_suite(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["nonsense"]) == 2
    assert "dcc, rules, certlogic" in capsys.readouterr().err


def test_a_disagreement_fails_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = json.loads((VECTORS / "dgc-testdata/common/2DCode/raw/CO5.json").read_text())
    case["EXPECTEDRESULTS"]["EXPECTEDVERIFY"] = True  # CO5's signature is broken on purpose
    (tmp_path / "CO5.json").write_text(json.dumps(case))
    assert dcc.main([str(tmp_path)]) == 1
    assert "disagree" in capsys.readouterr().out
