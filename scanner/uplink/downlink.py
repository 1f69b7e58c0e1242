"""Downlink handling: trust bundles, revocation updates and commands, each verified before use.

Every refusal leaves the device working with what it had and becomes an alert
to central ops; a revocation gap also asks central for the missing updates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from scanner.errors import (
    BundleError,
    BundleRollbackError,
    CoseError,
    RevocationApplyError,
    RevocationGapError,
    RevocationUpdateError,
)
from scanner.formats.cose import key_id, parse_sign1
from scanner.trust.clock import Clock
from scanner.trust.dcc_rules import RuleSetError
from scanner.trust.dcc_signers import DscListError
from scanner.trust.dcc_store import DccKeyMissingError, DccRollbackError, DccStore
from scanner.trust.store import TrustStore
from scanner.uplink.commands import Action, Command, CommandGate, Refusal, parse_command
from scanner.uplink.inbound import DownlinkKind, DownlinkMessage

log = logging.getLogger(__name__)

Alert = Callable[[str, Mapping[str, object]], None]


@dataclass(frozen=True, slots=True)
class DownlinkActions:
    """What the daemon does for each command, and how it talks back to central."""

    identify: Callable[[], None]
    flush: Callable[[], None]
    report: Callable[[], None]
    alert: Alert  # (code, detail): a QoS 1 alert
    command_result: Callable[[Mapping[str, object]], None]
    request_catchup: Callable[[int, int], None]  # (bundle version, revocation serial)


class Downlink:
    """Routes each downlink message to the trust store or the command gate."""

    def __init__(
        self,
        store: TrustStore,
        gate: CommandGate,
        clock: Clock,
        actions: DownlinkActions,
        dcc: DccStore | None = None,
    ) -> None:
        self._store = store
        self._gate = gate
        self._clock = clock
        self._actions = actions
        self._dcc = dcc

    def handle(self, message: DownlinkMessage) -> None:
        """Never raises: a bad message is refused, reported and otherwise ignored."""
        try:
            if message.kind is DownlinkKind.COMMAND:
                self._command(message.payload)
            elif message.kind is DownlinkKind.REVOCATIONS:
                self._revocations(message.payload)
            elif message.kind is DownlinkKind.TRUST_BUNDLE:
                self._bundle(message.payload)
            elif message.kind in (DownlinkKind.DCC_SIGNERS, DownlinkKind.DCC_RULES):
                self._dcc_object(message.payload)
            else:
                self._catchup(message.payload)
        except Exception:  # the paho thread must survive anything a message does
            log.exception("downlink message on %s could not be handled", message.kind)
            self._actions.alert("downlink_error", {"kind": message.kind.value})

    def _catchup(self, payload: bytes) -> None:
        # Catch-up answers carry either kind on one topic: the signer's kid tells which.
        try:
            kid = parse_sign1(payload).kid
        except CoseError as exc:
            self._actions.alert("trust_update_refused", {"error": f"malformed: {exc}"})
            return
        snapshot = self._store.snapshot()
        dcc_key = snapshot.bundle.dcc_key
        if kid == key_id(bytes(snapshot.bundle.revocation_key)):
            self._revocations(payload)
        elif dcc_key is not None and kid == key_id(bytes(dcc_key)):
            self._dcc_object(payload)
        else:
            self._bundle(payload)

    def _bundle(self, payload: bytes) -> None:
        current = self._store.snapshot().bundle.version
        try:
            bundle = self._store.install_bundle(payload)
        except BundleRollbackError as exc:
            if exc.offered == exc.current:
                return  # the retained bundle we already run: nothing to do, nothing to report
            self._actions.alert("trust_bundle_refused", {"error": str(exc), "have": current})
            return
        except BundleError as exc:
            self._actions.alert("trust_bundle_refused", {"error": str(exc), "have": current})
            return
        self._clock.observe(bundle.issued_at)
        if self._store.rotated:
            # Serials restart with the new revocation key: ask for its snapshot now.
            self._actions.alert("revocation_key_rotated", {"bundle_version": bundle.version})
            self._actions.request_catchup(bundle.version, 0)
        self._actions.report()

    def _dcc_object(self, payload: bytes) -> None:
        """An EU DCC DSC list or rule set, verified against the bundle's dcc key."""
        if self._dcc is None:
            return  # a unit built without HC1 ignores them
        try:
            installed = self._dcc.install(payload)
        except DccRollbackError as exc:
            if exc.offered < exc.current:
                self._actions.alert("dcc_update_refused", {"error": str(exc)})
            return  # the same version again (retained, re-sent) is not a fault
        except (DscListError, RuleSetError, DccKeyMissingError) as exc:
            self._actions.alert("dcc_update_refused", {"error": str(exc)})
            return
        log.info("EU DCC trust object version %d installed", installed.version)
        self._actions.report()

    def _revocations(self, payload: bytes) -> None:
        snapshot = self._store.snapshot()
        try:
            update = self._store.apply_revocations(payload, self._clock.now()[0])
        except RevocationGapError as exc:
            if exc.got <= exc.have:
                return  # an update already applied (retained or re-sent): not a fault
            self._actions.alert("revocation_gap", {"have": exc.have, "got": exc.got})
            self._actions.request_catchup(snapshot.bundle.version, snapshot.revocation_serial)
            return
        except RevocationUpdateError as exc:
            self._actions.alert("revocation_refused", {"error": str(exc)})
            return
        except RevocationApplyError as exc:
            # Not the update's fault: the old set stays in force. The retained update
            # comes again on reconnect, and the next delta's gap asks central for it.
            self._actions.alert("revocation_apply_failed", {"error": str(exc)})
            return
        log.info("revocation update %d applied", update.serial)

    def _command(self, payload: bytes) -> None:
        now, _ = self._clock.now()
        ops = self._store.snapshot().bundle.ops_key
        command = parse_command(payload, ops)
        seq = command.seq if isinstance(command, Command) else None
        refusal = command if isinstance(command, Refusal) else self._gate.admit(command, now)
        if refusal is not None:
            detail = {"code": refusal.code, "seq": seq, "error": refusal.message}
            self._actions.alert("command_refused", detail)
            self._actions.command_result({"seq": seq, "ok": False, "code": refusal.code})
            return
        assert isinstance(command, Command)  # a Refusal returned above
        {
            Action.IDENTIFY: self._actions.identify,
            Action.FLUSH: self._actions.flush,
            Action.REPORT: self._actions.report,
        }[command.action]()
        log.info("command %d (%s) run", command.seq, command.action)
        self._actions.command_result({"seq": command.seq, "ok": True, "action": command.action})
