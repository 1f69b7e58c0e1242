"""`conformance dcc DIR`: dgc-testdata-shaped cases through the real HC1 verifier and QR decoder.

Each EXPECTED* field is mapped to the step of `scanner.formats.hc1.inspect` that answers it;
the 2DCODE PNG goes through `scanner.decide.decode`, the decoder the unit runs on camera frames.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from scanner.cli.kit import command, echo
from scanner.conformance.report import Check, Defect, Result, emit, judge, known_defects, parser
from scanner.formats.hc1 import schema
from scanner.formats.hc1.cbor import CborError, loads
from scanner.formats.hc1.dsc import DscError, Signer, load_der
from scanner.formats.hc1.inspect import Inspection, Stage, TimeCheck, covers, inspect

SUITE = "dcc"
# The unit never builds a DCC from JSON; EXPECTEDENCODE is the issuer's side of the suite.
_NOT_APPLICABLE = {"EXPECTEDENCODE": "the verifier does not encode DCCs"}
_NEEDS_CLOCK = {"EXPECTEDEXPIRATIONCHECK"}


def run_case(path: Path, root: Path, defects: dict[tuple[str, str], Defect]) -> list[Check]:
    """Every expectation of one case file."""
    name = path.relative_to(root).as_posix()
    try:
        case = json.loads(path.read_text(encoding="utf-8"))
        expected: dict[str, Any] = case["EXPECTEDRESULTS"]
        ctx: dict[str, Any] = case.get("TESTCTX", {})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [Check(name, "file", "a case", None, Result.NOT_APPLICABLE, str(exc))]
    now = _clock(ctx.get("VALIDATIONCLOCK"))
    signers = _signers(ctx.get("CERTIFICATE"))
    text = case.get("PREFIX")
    found = None
    if isinstance(text, str):
        # Without a clock every step but the time checks still has an answer.
        at = now if now is not None else 0
        found = inspect(text.encode("utf-8"), lambda kid: signers.get(kid, ()), at)
    checks = []
    for field, want in sorted(expected.items()):
        if field in _NOT_APPLICABLE:
            checks.append(
                Check(name, field, want, None, Result.NOT_APPLICABLE, _NOT_APPLICABLE[field])
            )
            continue
        if not isinstance(want, bool):
            checks.append(Check(name, field, want, None, Result.NOT_APPLICABLE, "not a boolean"))
            continue
        if field in _NEEDS_CLOCK and now is None:
            checks.append(Check(name, field, want, None, Result.NOT_APPLICABLE, "no clock"))
            continue
        case_signer = next(iter(signers.values()), ())
        actual, detail = _answer(field, case, found, case_signer[0] if case_signer else None)
        if actual is None:
            checks.append(Check(name, field, want, None, Result.NOT_APPLICABLE, detail))
        else:
            checks.append(judge(name, field, want, actual, defects, detail=detail))
    return checks


def _answer(
    field: str, case: dict[str, Any], found: Inspection | None, signer: Signer | None
) -> tuple[bool | None, str]:
    """The project's answer to one EXPECTED* field, and a note on where it came from.

    Expiry and key usage are judged, as the suite defines them, against the case's DSC even
    when the signature did not verify; the verifier itself refuses such a DCC earlier.
    """
    if field == "EXPECTEDPICTUREDECODE":
        return _picture(case)
    if field == "EXPECTEDVALIDOBJECT":
        raw = case.get("JSON")
        return (None, "no JSON") if raw is None else (schema.conforms(raw), "schema on JSON")
    if found is None:
        return None, "no PREFIX or VALIDATIONCLOCK"
    where = _where(found)
    if field == "EXPECTEDUNPREFIX":
        return found.reached(Stage.PREFIX), where
    if field == "EXPECTEDB45DECODE":
        same = _matches(found.packed, case.get("COMPRESSED"))
        return found.reached(Stage.BASE45) and same, where
    if field == "EXPECTEDCOMPRESSION":
        return found.reached(Stage.ZLIB) and _matches(found.cose, case.get("COSE")), where
    if field == "EXPECTEDDECODE":
        # The payload must decode to an hcert DCC, not just to some CBOR.
        return found.reached(Stage.COSE) and _same_cbor(found, case.get("CBOR")), where
    if field == "EXPECTEDVERIFY":
        return found.reached(Stage.CLAIMS), where
    if field == "EXPECTEDVALIDJSON":
        ok = found.claims is not None and _same_json(found.claims.dcc, case.get("JSON"))
        return ok, where
    if field == "EXPECTEDSCHEMAVALIDATION":
        problems = found.schema_problems
        return (problems is not None and not problems), "; ".join(problems or []) or where
    if field in ("EXPECTEDEXPIRATIONCHECK", "EXPECTEDKEYUSAGE"):
        return _against_signer(field, found, signer)
    return None, f"unknown field {field}"


def _against_signer(field: str, found: Inspection, signer: Signer | None) -> tuple[bool, str]:
    """The answers judged against the case's DSC: expiry, or whether it may sign this type."""
    if field == "EXPECTEDEXPIRATIONCHECK":
        # The suite's expiry: iat <= clock <= exp, inside the DSC's validity.
        within = signer is not None and found.claims is not None and covers(signer, found.claims)
        return found.time is TimeCheck.CURRENT and within, f"time {found.time}, in DSC {within}"
    kind = found.claims.cert_type if found.claims is not None else None
    allowed = signer is not None and kind is not None and signer.may_sign(kind)
    return allowed, f"{kind} by DSC for {sorted(signer.types) if signer else None}"


def _where(found: Inspection) -> str:
    if found.failed is not None:
        return f"stopped at {found.failed.name.lower()}: {found.error}"
    return "every step passed"


def _picture(case: dict[str, Any]) -> tuple[bool | None, str]:
    png = case.get("2DCODE")
    if not isinstance(png, str):
        return None, "no 2DCODE"
    # Imported here: OpenCV and zxing are what a camera frame needs, not the other checks.
    import cv2  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    from scanner.decide.decode import Decoder  # noqa: PLC0415

    try:
        raw = base64.b64decode(png)
    except (binascii.Error, ValueError):
        return False, "2DCODE is not base64"
    image = cv2.imdecode(np.frombuffer(raw, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        return False, "2DCODE is not an image"
    gray = _grey_on_white(image, cv2, np)
    # The camera's decoder with the whole retry ladder allowed: a still image has no frame
    # deadline, and a printed code is what the suite asks about.
    result = Decoder(budget_ms=2000.0, small_image_pixels=gray.size + 1).decode(gray)
    if result.primary is None:
        return False, "no QR code read"
    read = result.primary.content.decode("utf-8", "replace")
    same = read == case.get("PREFIX")
    return same, "read" if same else "read other text"


def _grey_on_white(image: Any, cv2: Any, np: Any) -> Any:
    """A 2-D uint8 image; transparent pixels become white, as a viewer shows them."""
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(float(image.max()), 1.0))
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    if image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        rgb = image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        image = rgb.astype(np.uint8)
    return np.ascontiguousarray(cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2GRAY))


def _matches(ours: bytes | None, hex_text: Any) -> bool:
    if ours is None:
        return False
    if not isinstance(hex_text, str) or not hex_text:
        return True
    try:
        return ours == bytes.fromhex(hex_text)
    except ValueError:
        return True  # the case's own field is not hex: nothing to compare with


def _same_cbor(found: Inspection, hex_text: Any) -> bool:
    if found.claims is None or found.envelope is None:
        return False
    if not isinstance(hex_text, str) or not hex_text:
        return True
    try:
        theirs = loads(bytes.fromhex(hex_text))
    except (ValueError, CborError):
        return True  # their CBOR does not decode: only our own decoding is judged
    # Cases give either the DCC's CBOR or the whole CWT claims set around it.
    ours = (
        found.envelope.claims if isinstance(theirs, dict) and -260 in theirs else found.claims.dcc
    )
    return bool(_normal(_jsonable(theirs)) == _normal(_jsonable(ours)))


def _same_json(dcc: dict[str, Any], raw: Any) -> bool:
    return raw is None or bool(_normal(_jsonable(dcc)) == _normal(raw))


def _normal(value: Any) -> Any:
    """A form in which the same data compares equal: lists unordered, date-times in UTC.

    Issuers' JSON and CBOR spell one instant differently ("...:15Z", "...:15.000+00:00").
    """
    if isinstance(value, dict):
        return sorted(((k, _normal(v)) for k, v in value.items()), key=repr)
    if isinstance(value, list):
        return sorted((_normal(v) for v in value), key=repr)
    if isinstance(value, str) and len(value) > 10 and value[4:5] == "-" and "T" in value:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _jsonable(value: Any) -> Any:
    """CBOR values as JSON would carry them (tagged dates become their ISO text)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _clock(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # a clock without an offset is UTC, as upstream reads it
    return int(when.timestamp())


def _signers(b64: Any) -> dict[bytes, tuple[Signer, ...]]:
    if not isinstance(b64, str):
        return {}
    # Some cases carry the certificate PEM-armoured or wrapped over lines.
    body = "".join(line for line in b64.splitlines() if not line.startswith("-----"))
    try:
        signer = load_der(base64.b64decode("".join(body.split())))
    except (binascii.Error, ValueError, DscError):
        return {}
    return {signer.kid: (signer,)}


def cases(root: Path) -> list[Path]:
    """Case files: every *.json under the directory that is not a schema or a README."""
    return sorted(p for p in root.rglob("*.json") if p.is_file())


@command
def main(argv: list[str]) -> int:
    """Run `conformance dcc DIR`."""
    args = parser(SUITE, "dgc-testdata-shaped DCC cases").parse_args(argv)
    root: Path = args.dir
    if not root.is_dir():
        echo(f"error: {root} is not a directory")
        return 2
    defects = known_defects(SUITE)
    files = cases(root)
    checks = [c for path in files for c in run_case(path, root, defects)]
    return emit(SUITE, checks, args.json, len(files))
