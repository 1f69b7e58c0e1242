"""What the officer reads for an EU DCC: name as signed (or transliterated), birth, what it is."""

from __future__ import annotations

from support.hc1 import hc1_verdict, negative_test, partial_vaccination, vaccination

from scanner.display.certificate import drawable
from scanner.display.screen import Locale, Tone, compose
from scanner.display.textview import render_text
from scanner.model import Reason

VI = Locale("vi", 420, "CP-HN-01")
EN = Locale("en", 420, "CP-HN-01")
NOW = 1_780_000_000


def test_a_vaccination_shows_name_birth_country_and_dose() -> None:
    verdict = hc1_verdict()
    vi, en = compose(verdict, VI, NOW), compose(verdict, EN, NOW)
    assert vi.tone is Tone.ACCEPT
    assert vi.lines[1].text == "Văn An Nguyễn"
    assert vi.lines[2].text == "Ngày sinh 01/04/1990 · Nước cấp DE"
    assert vi.lines[3].text == "Tiêm chủng mũi 2/2 ngày 10/01/2026"
    assert en.lines[3].text == "Vaccinated, dose 2 of 2 on 10/01/2026"
    assert "EU COVID certificate" in en.text


def test_a_name_the_font_cannot_draw_is_shown_transliterated() -> None:
    verdict = hc1_verdict(
        vaccination(
            family_name="王",
            given_name="小明",
            family_name_latin="WANG",
            given_name_latin="XIAO<MING",
        )
    )
    assert compose(verdict, EN, NOW).lines[1].text == "XIAO MING WANG"
    assert not drawable("王小明")
    assert drawable("Nguyễn Văn An")
    assert drawable("Дмитрий Ωμέγα O'Brien-Łukasz")


def test_a_test_certificate_says_which_test_and_when() -> None:
    verdict = hc1_verdict(negative_test())
    assert verdict.accepted, verdict.reason
    assert compose(verdict, EN, NOW).lines[3].text == "PCR test, sampled 27/05/2026 08:00"
    assert compose(verdict, VI, NOW).lines[2].text == "Ngày sinh 1985 · Nước cấp DE"


def test_a_failed_rule_is_named_and_the_holder_not_shown() -> None:
    verdict = hc1_verdict(partial_vaccination())
    assert verdict.reason is Reason.RULE_FAILED
    screen = compose(verdict, VI, NOW)
    assert screen.lines[1].text == "Không đáp ứng quy định nhập cảnh (VR-VN-0001)"
    assert "Nguyễn" not in screen.text
    assert "1990" not in screen.text


def test_the_console_draws_a_dcc_screen_within_its_size() -> None:
    text = render_text(compose(hc1_verdict(), EN, NOW), 40, 12)
    assert "VALID" in text
    assert "Nguyễn" in text
