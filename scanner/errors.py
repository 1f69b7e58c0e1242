"""Every error the scanner raises, in one tree under ScannerError (as gpiozero's exc.py).

An error about bad input also derives from the builtin it resembles
(ValueError), so `except ValueError` still catches malformed input. A fault of
the unit itself (camera, display, outbox, trust store, startup) derives from
ScannerError alone: no builtin describes it, and an `except OSError` around a
driver call must not swallow it. Outcomes (a refused pass, a refused command)
are values, never errors.
"""

from __future__ import annotations


class ScannerError(Exception):
    """Base class of every error the scanner package raises."""


# -- configuration -------------------------------------------------------------------------------


class ConfigError(ScannerError, ValueError):
    """A configuration value is missing, unknown or of the wrong type; names the key path.

    `problems` holds every problem found (one "key.path: what" each), so a
    technician fixes them all in one round instead of one per run.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


# -- credential formats and signed objects -------------------------------------------------------


class CoseError(ScannerError, ValueError):
    """The bytes are not a COSE_Sign1 message of the profile this project uses."""


class CborError(ScannerError, ValueError):
    """Untrusted bytes are not CBOR this project can take."""


class StrictJsonError(ScannerError, ValueError):
    """Signed or ingested JSON is malformed: a duplicate key, NaN or Infinity, a lone surrogate."""


class SignedObjectError(ScannerError, ValueError):
    """A signed bundle, revocation update or command that does not verify; `code` says how."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # "malformed" or "bad_signature"; the message says what is wrong


class Base45Error(ScannerError, ValueError):
    """The text is not valid base45."""


class TextTooLargeError(ScannerError, ValueError):
    """The text or its decompressed payload is over the hard limits."""


class NotAPassError(ScannerError, ValueError):
    """The text is not a checkpoint pass (no `CP1:` prefix): a URL, a contact card..."""


class BadTextError(ScannerError, ValueError):
    """The text has our prefix but its base45 or compression is broken."""


class ClaimsError(ScannerError, ValueError):
    """The payload is not a claims set of a checkpoint pass."""


# -- trust data ----------------------------------------------------------------------------------


class KeyFileError(ScannerError, ValueError):
    """A key file is missing, malformed, of the wrong kind or too widely readable."""


class BundleError(ScannerError, ValueError):
    """A trust bundle is malformed or not signed by the pinned root."""


class TrustStoreError(ScannerError):
    """The store has no usable trust data: the device cannot verify anything."""


class BundleRollbackError(BundleError):
    """A bundle whose version is not above the current one (anti-rollback)."""

    def __init__(self, offered: int, current: int) -> None:
        super().__init__(f"bundle version {offered} is not above the current {current}")
        self.offered = offered
        self.current = current


class RevocationUpdateError(ScannerError, ValueError):
    """A revocation update is malformed or not signed by the bundle's revocation key."""


class RevocationGapError(ScannerError, ValueError):
    """An update does not follow the serial the device has: updates were missed."""

    def __init__(self, have: int, got: int) -> None:
        super().__init__(f"revocation delta {got} does not follow serial {have}: updates missing")
        self.have = have
        self.got = got


class RevocationApplyError(ScannerError, RuntimeError):
    """Building the new revocation set failed (its process died or timed out): the old one stays."""


class RevocationFileError(ScannerError, ValueError):
    """A revocation file is missing, torn, corrupt or of an unknown format."""


class IdentityError(ScannerError):
    """The identity key is missing, unreadable, or belongs to another device."""


# -- camera --------------------------------------------------------------------------------------


class SourceError(ScannerError):
    """A frame source failed (unplugged, stream broken, garbage frame); close and reopen it."""


class SourceEnded(SourceError):  # noqa: N818 - it is an end, not a fault
    """A finite source (file, replay, synthetic run) has no more frames."""


class ImageError(ScannerError, ValueError):
    """An image file cannot be used as a grey frame; the message says why, in one line."""


# -- lights --------------------------------------------------------------------------------------


class LightsUnavailableError(ScannerError):
    """Real pins were configured and cannot be driven here (no pin factory, or a pin refused)."""


# -- display -------------------------------------------------------------------------------------


class DisplayError(ScannerError):
    """A panel (tty, framebuffer, I2C OLED) could not be opened or its driver is missing."""


class FontMissingError(ScannerError, RuntimeError):
    """Neither the shipped nor the system DejaVu Sans could be found."""


# -- outbox --------------------------------------------------------------------------------------


class OutboxError(ScannerError):
    """Base of the outbox's faults."""


class OutboxStorageError(OutboxError):
    """The disk refused the write (full, read-only, I/O error): the events were NOT stored."""


class OutboxFullError(OutboxError):
    """The store is at its bound and holds no telemetry left to shed: the event was NOT stored."""


# -- daemon --------------------------------------------------------------------------------------


class StartupError(ScannerError):
    """The unit cannot start: one line saying what is missing."""
