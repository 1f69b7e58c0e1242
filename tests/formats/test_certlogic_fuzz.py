"""Hostile CertLogic: any expression on any data gives a value or CertLogicError, nothing else."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.formats.certlogic import CertLogicError, evaluate
from scanner.formats.hc1.rules import Outcome, evaluate_rule, parse_rule

_OPS = st.sampled_from(
    ["var", "if", "===", "and", "<", ">", "<=", ">=", "in", "+", "!", "after", "before",
     "not-after", "not-before", "plusTime", "dccDateOfBirth", "reduce", "extractFromUVCI", "x"]
)  # fmt: skip
_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=25),
    st.sampled_from(
        ["2021-06-01", "2021-06-01T00:00:00Z", "2020-02", "day", "year", "payload.v.0"]
    ),
)
_EXPR = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_OPS, st.lists(inner, max_size=4) | inner, min_size=1, max_size=2)
    ),
    max_leaves=25,
)
_DATA = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=15,
)
FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(_EXPR, _DATA)
def test_any_expression_gives_a_value_or_a_certlogic_error(expr: Any, data: Any) -> None:
    with contextlib.suppress(CertLogicError):
        evaluate(expr, data)


@FUZZ
@given(_EXPR, _DATA)
def test_a_hostile_rule_fails_rather_than_raising(logic: Any, payload: Any) -> None:
    rule = parse_rule(
        {
            "Identifier": "GR-XX-0001",
            "Type": "Acceptance",
            "Country": "XX",
            "Version": "1.0.0",
            "CertificateType": "General",
            "ValidFrom": "2021-01-01T00:00:00Z",
            "ValidTo": "2031-01-01T00:00:00Z",
            "Logic": logic,
        }
    )
    result = evaluate_rule(rule, payload, {"validationClock": "2026-05-28T00:00:00Z"})
    assert result.outcome in set(Outcome)
