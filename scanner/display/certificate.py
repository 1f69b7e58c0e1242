"""The lines an EU DCC adds to an accept screen: name as signed, date of birth, what it is."""

from __future__ import annotations

import unicodedata
from datetime import datetime

from scanner.display.catalogue import text
from scanner.display.config import Language
from scanner.model import HealthCertificate

# DejaVu Sans draws these scripts without a shaping engine; names in other scripts (Chinese,
# Arabic, Thai...) are shown in the certificate's ICAO transliteration (fnt/gnt) instead.
_DRAWABLE_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC", "DIGIT", "SPACE", "HYPHEN", "APOSTROPHE")


def drawable(name: str) -> bool:
    """Whether every letter of the name is in a script the display font draws."""
    for char in unicodedata.normalize("NFC", name):
        if char.isspace() or unicodedata.category(char)[0] in "PMN":
            continue  # punctuation, combining marks and digits
        if not unicodedata.name(char, "").startswith(_DRAWABLE_SCRIPTS):
            return False
    return True


def holder_name(cert: HealthCertificate) -> str:
    """Given and family name as signed, or their transliteration when they cannot be drawn."""
    signed = f"{cert.given_name} {cert.family_name}".strip()
    if signed and drawable(signed):
        return signed
    latin = f"{cert.given_name_latin} {cert.family_name_latin}"
    return " ".join(latin.replace("<", " ").split())


def _day(value: str | None) -> str:
    """An ISO date or date-time as the officer reads dates (dd/mm/yyyy); others as signed."""
    if not value:
        return "?"
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return when.strftime("%d/%m/%Y %H:%M" if "T" in value else "%d/%m/%Y")


def birth_and_country(language: Language, cert: HealthCertificate) -> str:
    """Date of birth and issuing country, as one line."""
    dob = _day(cert.date_of_birth) if len(cert.date_of_birth) == 10 else cert.date_of_birth
    born = text(language, "dcc.born", dob=dob)
    return f"{born} · {text(language, 'dcc.issued_by', country=cert.country)}"


def what_it_is(language: Language, cert: HealthCertificate) -> str:
    """Dose n of m and date, test type and sample time, or recovery and its validity."""
    if cert.kind == "v":
        return text(
            language, "dcc.vaccination", dose=cert.dose, doses=cert.doses, date=_day(cert.date)
        )
    if cert.kind == "t":
        key = f"dcc.test.{cert.test_type}"
        known = key if key in ("dcc.test.LP6464-4", "dcc.test.LP217198-3") else "dcc.test"
        return text(language, known, date=_day(cert.date))
    return text(language, "dcc.recovery", date=_day(cert.valid_until))
