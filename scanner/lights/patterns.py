"""The blink and beep rhythm of every signal and state, as data, and its state at a given time."""

# Every pattern is told apart by its rhythm alone, so that an officer who cannot
# tell red from green, or who looks at the unit in bright sun, still reads it
# (docs/lights.md has the same table). The "status lamp" is amber when fitted,
# otherwise green and red together, so a status never looks like a single-colour
# verdict.
#
# | what       | lamps       | rhythm (seconds)                         | buzzer             |
# |------------|-------------|------------------------------------------|--------------------|
# | ACCEPT     | green       | steady on for accept_hold_s              | one short beep     |
# | REJECT     | red         | flash 0.2 on / 0.2 off for reject_hold_s | one long beep      |
# | UNREADABLE | status      | double blink 0.15 on/off/on, once        | silent             |
# | TEST_CARD  | green + red | long-short 0.6 on, 0.2 off, 0.2 on, 0.2  | three short beeps  |
# | IDENTIFY   | all         | 3 flashes 0.2 on/0.2 off, 1.5 dark; loop | a chirp per burst  |
# | IDLE       | none        | all off                                  | silent             |
# | DEGRADED   | status      | blip 0.2 on every 3                      | silent             |
# | FAULT      | status      | even blink 1 on / 1 off                  | silent             |

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from scanner.lights.signals import LightsConfig, Signal
from scanner.model import DeviceState

# No rhythm flashes more than 3 times in any second: the WCAG 2.3.1 limit for
# photosensitive seizures, which a lamp at eye height should respect too.
FAST_FLASH_S = 0.2  # 2.5 Hz
DOUBLE_BLINK_S = 0.15
BLIP_S = 0.2
DEGRADED_PERIOD_S = 3.0
FAULT_HALF_S = 1.0
IDENTIFY_FLASH_S = 0.2
IDENTIFY_PERIOD_S = 2.5
CHIRP_S = 0.05


class Channel(enum.StrEnum):
    """One output the patterns drive."""

    GREEN = "green"
    RED = "red"
    AMBER = "amber"
    BUZZER = "buzzer"


LAMPS = (Channel.GREEN, Channel.RED, Channel.AMBER)

Track = tuple[float, ...]
"""Durations in seconds alternating on, off, on, ... from the start; off after the last."""


@dataclass(frozen=True, slots=True)
class Pattern:
    """What every channel does over `length` seconds; a repeating pattern loops forever."""

    length: float
    repeat: bool
    tracks: tuple[tuple[Channel, Track], ...] = ()

    def state_at(self, t: float) -> dict[Channel, bool]:
        """Each channel's state `t` seconds after the pattern started (all off once it is over)."""
        ct = self._cycle_time(t)
        states = dict.fromkeys(Channel, False)
        if ct is None:
            return states
        for channel, track in self.tracks:
            states[channel] = _track_state(track, ct)
        return states

    def next_change(self, t: float) -> float | None:
        """Seconds from `t` until some channel may change; None when nothing ever will again."""
        if not self.repeat and t >= self.length:
            return None
        if self.repeat and not any(track for _, track in self.tracks):
            return None
        ct = self._cycle_time(t)
        assert ct is not None
        edges = [self.length]
        for _, track in self.tracks:
            edge = 0.0
            for d in track:
                edge += d
                if edge > ct:
                    edges.append(edge)
                    break
        return min(edges) - ct

    def done(self, t: float) -> bool:
        """Whether a one-shot pattern has run its length."""
        return not self.repeat and t >= self.length

    def _cycle_time(self, t: float) -> float | None:
        if self.repeat:
            return math.fmod(max(t, 0.0), self.length)
        return t if 0.0 <= t < self.length else None


def _track_state(track: Track, t: float) -> bool:
    edge = 0.0
    for i, d in enumerate(track):
        edge += d
        if t < edge:
            return i % 2 == 0
    return False


def _flashes(on: float, off: float, total: float) -> Track:
    """Equal flashes filling `total` seconds (the last one may be cut short)."""
    count = max(1, math.ceil(total / (on + off)))
    return (on, off) * count


def _status_lamps(config: LightsConfig) -> tuple[Channel, ...]:
    return (Channel.AMBER,) if config.amber_pin is not None else (Channel.GREEN, Channel.RED)


def signal_pattern(signal: Signal, config: LightsConfig) -> Pattern:
    """The one-shot pattern of a signal under this configuration."""
    status = _status_lamps(config)
    short = config.short_beep_s
    if signal is Signal.ACCEPT:
        hold = config.accept_hold_s
        return Pattern(hold, False, ((Channel.GREEN, (hold,)), (Channel.BUZZER, (short,))))
    if signal is Signal.REJECT:
        hold = config.reject_hold_s
        flash = _flashes(FAST_FLASH_S, FAST_FLASH_S, hold)
        return Pattern(hold, False, ((Channel.RED, flash), (Channel.BUZZER, (config.long_beep_s,))))
    if signal is Signal.UNREADABLE:
        # Silent on purpose: by ear it can never be taken for a verdict.
        blink = (DOUBLE_BLINK_S, DOUBLE_BLINK_S, DOUBLE_BLINK_S)
        return Pattern(4 * DOUBLE_BLINK_S, False, tuple((c, blink) for c in status))
    if signal is Signal.TEST_CARD:
        hold = config.test_card_hold_s
        long_short = (0.6, 0.2, 0.2, 0.2) * max(1, math.ceil(hold / 1.2))
        beeps = (short, short) * 3
        lamps = ((Channel.GREEN, long_short), (Channel.RED, long_short))
        return Pattern(hold, False, (*lamps, (Channel.BUZZER, beeps)))
    # IDENTIFY: a burst that nothing else uses, with a chirp so the unit can be found by ear.
    burst = (IDENTIFY_FLASH_S,) * 5  # on, off, on, off, on
    gap = IDENTIFY_PERIOD_S - sum(burst)
    cycles = max(1, math.ceil(config.identify_s / IDENTIFY_PERIOD_S))
    lamp_track = _joined(burst, gap, cycles)
    chirp_track = _joined((CHIRP_S,), IDENTIFY_PERIOD_S - CHIRP_S, cycles)
    tracks = tuple((c, lamp_track) for c in _fitted_lamps(config))
    return Pattern(cycles * IDENTIFY_PERIOD_S, False, (*tracks, (Channel.BUZZER, chirp_track)))


def state_pattern(state: DeviceState, config: LightsConfig) -> Pattern:
    """The repeating background pattern of a device state."""
    status = _status_lamps(config)
    if state is DeviceState.DEGRADED:
        return Pattern(DEGRADED_PERIOD_S, True, tuple((c, (BLIP_S,)) for c in status))
    if state is DeviceState.FAULT:
        return Pattern(2 * FAULT_HALF_S, True, tuple((c, (FAULT_HALF_S,)) for c in status))
    return Pattern(1.0, True)


def _fitted_lamps(config: LightsConfig) -> tuple[Channel, ...]:
    amber = (Channel.AMBER,) if config.amber_pin is not None else ()
    return (Channel.GREEN, Channel.RED, *amber)


def _joined(cycle: Track, gap: float, cycles: int) -> Track:
    """`cycle` followed by `gap` seconds off, `cycles` times, as one track.

    `cycle` must have an odd length (end on an "on") so that the gap is an "off".
    """
    assert len(cycle) % 2 == 1
    one = (*cycle, gap)
    return one * cycles
