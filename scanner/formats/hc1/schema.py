"""EU DCC JSON schema validation (schema 1.3.3, shipped beside this module), reported as a flag.

jsonschema-rs (Rust, the `jsonschema` crate) compiles the schema once and checks a
certificate in about 1 us here; fastjsonschema's generated Python took 13 us and the
interpreting `jsonschema` 2-6 ms, against a signature check of 50-100 us. The schema uses
only draft-07 keywords (its `$defs` are reached by JSON pointer), so it is compiled as
draft-07; `format` stays an annotation, as in the EU's reference validation of the test
data. tests/formats/test_hc1_schema.py checks it agrees with `jsonschema`.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import jsonschema_rs

_SCHEMA_FILE = "DCC.combined-schema.json"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"


def schema_document() -> dict[str, Any]:
    """The EU DCC combined schema as shipped."""
    text = resources.files("scanner.formats.hc1").joinpath("schema", _SCHEMA_FILE).read_text()
    doc: dict[str, Any] = json.loads(text)
    return doc


@functools.cache
def _validator() -> jsonschema_rs.Draft7Validator:
    schema = {**schema_document(), "$schema": DRAFT_07}
    return jsonschema_rs.Draft7Validator(schema, validate_formats=False)


# What a Python value the validator cannot map to JSON may raise (the DCC has been made
# JSON by claims.as_json, so none is expected): still a schema failure, never a crash.
_ERRORS = (ValueError, TypeError, OverflowError, RecursionError)


def problems(dcc: Any) -> list[str]:
    """What is wrong with a DCC against the schema (empty when it conforms); never raises."""
    validator = _validator()
    try:
        if validator.is_valid(dcc):
            return []
        error = next(iter(validator.iter_errors(dcc)), None)
    except _ERRORS as exc:
        return [f"schema validation failed: {type(exc).__name__}"]
    if error is None:
        return ["schema validation failed"]
    # The path says which field; the message could quote a holder's name, so it is dropped.
    path = "/".join(str(p) for p in error.instance_path) or "(root)"
    keyword = error.schema_path[-1] if error.schema_path else "schema"
    return [f"{path}: {keyword}"]


def conforms(dcc: Any) -> bool:
    """Whether a DCC conforms to the EU DCC schema."""
    return not problems(dcc)
