"""The unit's EU DCC trust data: DSC list and rule set, each versioned, persisted atomically.

Both objects are verified against the `dcc` key named in the current trust bundle, refused
when their version is not above the one held (anti-rollback), written with `atomic_write`,
then swapped in whole, so a verification never sees half an update.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from nacl.signing import VerifyKey

from scanner.errors import CborError, CoseError
from scanner.formats.cose import loads_untrusted, parse_sign1
from scanner.trust.dcc_rules import RULES_TYPE, RuleSet, RuleSetError, parse_rules
from scanner.trust.dcc_signers import DscList, DscListError, parse_signers
from scanner.trust.files import atomic_write

log = logging.getLogger(__name__)

SIGNERS_FILE = "dcc-signers.cose"
RULES_FILE = "dcc-rules.cose"
_T = TypeVar("_T")


class DccRollbackError(ValueError):
    """An object whose version is not above the one held (anti-rollback)."""

    def __init__(self, what: str, offered: int, current: int) -> None:
        super().__init__(f"{what} version {offered} is not above the current {current}")
        self.offered = offered
        self.current = current


class DccKeyMissingError(ValueError):
    """The trust bundle names no dcc key: the unit cannot accept DCC trust data."""


@dataclass(frozen=True, slots=True)
class DccTrust:
    """The DCC trust data in force at one moment; either part may be missing."""

    signers: DscList | None = None
    rules: RuleSet | None = None


class DccStore:
    """Holds the current DccTrust; updates replace it whole, on disk and in memory."""

    def __init__(self, directory: Path, dcc_key: Callable[[], VerifyKey | None]) -> None:
        self._dir = directory
        self._key = dcc_key
        self._lock = threading.Lock()
        self._trust = DccTrust(
            self._load(SIGNERS_FILE, parse_signers), self._load(RULES_FILE, parse_rules)
        )

    def _load(self, name: str, parse: Callable[[bytes, VerifyKey], _T]) -> _T | None:
        path = self._dir / name
        key = self._key()
        if key is None or not path.exists():
            return None
        try:
            return parse(path.read_bytes(), key)
        except (OSError, DscListError, RuleSetError) as exc:
            # Writes are atomic, so this is outside damage or a new dcc key: without the
            # object every HC1 is refused (unknown_key), which is the safe direction.
            log.error("%s not loaded: %s", path, exc)
            return None

    def snapshot(self) -> DccTrust:
        """The DCC trust data in force."""
        return self._trust

    def _require_key(self) -> VerifyKey:
        key = self._key()
        if key is None:
            raise DccKeyMissingError("the trust bundle names no dcc key")
        return key

    def install(self, data: bytes) -> DscList | RuleSet:
        """A DSC list or a rule set, whichever the signed object says it is."""
        if _declared_type(data) == RULES_TYPE:
            return self.install_rules(data)
        return self.install_signers(data)

    def install_signers(self, data: bytes) -> DscList:
        """Verify, check anti-rollback, persist, swap in; raises DscListError and friends."""
        signers = parse_signers(data, self._require_key())
        with self._lock:
            held = self._trust.signers
            if held is not None and signers.version <= held.version:
                raise DccRollbackError("DSC list", signers.version, held.version)
            atomic_write(self._dir / SIGNERS_FILE, data)
            self._trust = DccTrust(signers, self._trust.rules)
        log.info("DSC list version %d installed (%d DSCs)", signers.version, signers.count)
        return signers

    def install_rules(self, data: bytes) -> RuleSet:
        """Verify, check anti-rollback, persist, swap in; raises RuleSetError and friends."""
        rules = parse_rules(data, self._require_key())
        with self._lock:
            held = self._trust.rules
            if held is not None and rules.version <= held.version:
                raise DccRollbackError("rule set", rules.version, held.version)
            atomic_write(self._dir / RULES_FILE, data)
            self._trust = DccTrust(self._trust.signers, rules)
        log.info("rule set version %d installed (%d rules)", rules.version, len(rules.rules))
        return rules


def _declared_type(data: bytes) -> object:
    # Only to route the object: install_* then verifies it against the dcc key.
    try:
        body = loads_untrusted(parse_sign1(data).payload, max_depth=4)
    except (CoseError, CborError):
        return None
    return body.get("type") if isinstance(body, dict) else None
