"""The officer display's interfaces: Display for the daemon, Surface for each backend."""

from __future__ import annotations

from typing import Protocol

from scanner.display.screen import Screen, UnitStatus
from scanner.model import Verdict


class Display(Protocol):
    """What the scan loop calls; implementations return at once and never raise."""

    def show(self, verdict: Verdict) -> None:
        """Show a verdict screen, which clears itself after the configured time."""

    def show_unreadable(self) -> None:
        """Ask for the code again; never cuts a verdict screen short."""

    def set_status(self, status: UnitStatus) -> None:
        """The unit's state for the ready screen; repeating the same state is cheap."""

    def clear(self) -> None:
        """Back to the ready screen now (no history is kept)."""

    def close(self) -> None:
        """Blank the panel and release it; idempotent."""


class Surface(Protocol):
    """A panel that draws one Screen at a time; may block, so only the display thread calls it."""

    def draw(self, screen: Screen) -> None:
        """Show `screen` on the panel."""

    def close(self) -> None:
        """Blank the panel and release it."""


class NullDisplay:
    """The `none` backend: a unit without a screen."""

    def show(self, verdict: Verdict) -> None:
        """Show nothing."""

    def show_unreadable(self) -> None:
        """Show nothing."""

    def set_status(self, status: UnitStatus) -> None:
        """Ignore the status."""

    def clear(self) -> None:
        """Nothing to clear."""

    def close(self) -> None:
        """Nothing to release."""
