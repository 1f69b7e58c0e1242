"""The compiled DCC schema check agrees with the reference `jsonschema` on real and mutated DCCs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.hc1 import negative_test, vaccination

from scanner.formats.hc1 import schema

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "dgc-testdata"
REFERENCE = jsonschema.validators.validator_for(schema.schema_document())(schema.schema_document())


def _agree(dcc: Any) -> None:
    assert schema.conforms(dcc) == REFERENCE.is_valid(dcc)


@pytest.mark.skipif(not VECTORS.is_dir(), reason="shared vectors not present")
def test_both_agree_on_every_dcc_of_the_test_data() -> None:
    seen = 0
    for path in sorted(VECTORS.rglob("*.json")):
        dcc = json.loads(path.read_text()).get("JSON")
        if dcc is not None:
            _agree(dcc)
            seen += 1
    assert seen > 40


def test_a_wrong_field_is_named_by_path_without_its_value() -> None:
    found = schema.problems(vaccination(date_of_birth="01/04/1990"))
    assert found == ["dob: pattern"]


_FIELDS = st.sampled_from(["ver", "dob", "nam", "v", "t", "r", "fn", "dn", "sd", "co", "ci", "tt"])
_VALUES = st.one_of(
    st.none(), st.integers(-3, 3), st.text(max_size=12), st.lists(st.integers(), max_size=2)
)


def _mutate(doc: Any, path: list[str], value: Any) -> Any:
    if isinstance(doc, dict):
        key = path[0] if path and path[0] in doc else None
        out = dict(doc)
        if key is None:
            out[path[0] if path else "x"] = value
        elif len(path) == 1:
            out[key] = value
        else:
            out[key] = _mutate(doc[key], path[1:], value)
        return out
    if isinstance(doc, list) and doc:
        return [_mutate(doc[0], path, value), *doc[1:]]
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_FIELDS, min_size=1, max_size=3), _VALUES, st.booleans())
def test_both_agree_on_mutated_dccs(path: list[str], value: Any, test: bool) -> None:
    _agree(_mutate(negative_test() if test else vaccination(), path, value))
