"""EU DCC JSON schema validation (schema 1.3.3, shipped beside this module), reported as a flag.

fastjsonschema compiles the schema to Python once: about 0.1 ms a certificate here, where the
interpreting `jsonschema` takes 2-6 ms, more than the signature check it would sit beside.
The schema uses only draft-07 keywords (its `$defs` are reached by JSON pointer), so it is
compiled as draft-07; `format` stays an annotation, as in the EU's reference validation of
the test data. tests/formats/test_hc1_schema.py checks both libraries agree.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

import fastjsonschema

_SCHEMA_FILE = "DCC.combined-schema.json"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"


def schema_document() -> dict[str, Any]:
    """The EU DCC combined schema as shipped."""
    text = resources.files("scanner.formats.hc1").joinpath("schema", _SCHEMA_FILE).read_text()
    doc: dict[str, Any] = json.loads(text)
    return doc


@functools.cache
def _validate() -> Callable[[Any], Any]:
    schema = {**schema_document(), "$schema": DRAFT_07}
    validate: Callable[[Any], Any] = fastjsonschema.compile(schema, use_formats=False)
    return validate


def problems(dcc: Any) -> list[str]:
    """What is wrong with a DCC against the schema (empty when it conforms); never raises."""
    try:
        _validate()(dcc)
    except fastjsonschema.JsonSchemaValueException as exc:
        # The path says which field; the message could quote a holder's name, so it is dropped.
        path = "/".join(str(p) for p in exc.path[1:]) or "(root)"
        return [f"{path}: {exc.rule}"]
    except (fastjsonschema.JsonSchemaException, RecursionError, TypeError, ValueError) as exc:
        return [f"schema validation failed: {type(exc).__name__}"]
    return []


def conforms(dcc: Any) -> bool:
    """Whether a DCC conforms to the EU DCC schema."""
    return not problems(dcc)
