"""The pins and quick timings the lights tests share."""

from __future__ import annotations

from scanner.lights.signals import LightsConfig

GREEN, RED, AMBER, BUZZER = 17, 27, 22, 18

FAST = LightsConfig(
    green_pin=GREEN,
    red_pin=RED,
    amber_pin=AMBER,
    buzzer_pin=BUZZER,
    accept_hold_s=0.3,
    reject_hold_s=0.6,
    test_card_hold_s=0.5,
    identify_s=0.5,
    short_beep_s=0.05,
    long_beep_s=0.25,
)
