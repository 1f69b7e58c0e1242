"""EU DCC JSON schema validation (schema 1.3.3, shipped beside this module), reported as a flag."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import jsonschema

_SCHEMA_FILE = "DCC.combined-schema.json"


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    text = resources.files("scanner.formats.hc1").joinpath("schema", _SCHEMA_FILE).read_text()
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema)
    # The schema's own patterns constrain dates; "format" stays an annotation, as in the EU's
    # reference validation of the test data, so the flag means what it means elsewhere.
    return cls(schema)


def problems(dcc: Any) -> list[str]:
    """What is wrong with a DCC against the schema (empty when it conforms); never raises."""
    try:
        return [_where(e) for e in _validator().iter_errors(dcc)][:8]
    except (jsonschema.exceptions.JsonSchemaException, RecursionError, TypeError) as exc:
        return [f"schema validation failed: {type(exc).__name__}"]


def conforms(dcc: Any) -> bool:
    """Whether a DCC conforms to the EU DCC schema."""
    return not problems(dcc)


def _where(error: jsonschema.exceptions.ValidationError) -> str:
    # The path says which field; the message could quote a holder's name, so it is dropped.
    path = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{path}: {error.validator}"
