"""What the officer reads: screen content for real verdicts and unit states, in both languages."""

from __future__ import annotations

import dataclasses

import pytest
from support.display import DAY, NOW, Passes, passes

from scanner.display.catalogue import CATALOGUE
from scanner.display.screen import Kind, Locale, Screen, Size, Tone, UnitStatus, compose
from scanner.model import ClockState, Fill, Health, Reason, TrustState

VI = Locale("vi", 420, "CP-HN-01")
EN = Locale("en", 420, "CP-HN-01")

# The plain words for each reason, as the officer reads them to the traveller.
REASON_WORDS = {
    Reason.NOT_A_PASS: ("Không phải giấy đi đường", "Not a checkpoint pass"),
    Reason.MALFORMED: ("Mã bị hỏng", "Damaged code"),
    Reason.TOO_LARGE: ("Mã quá lớn", "Code too large"),
    Reason.UNKNOWN_KEY: (
        "Giấy không hợp lệ (nơi cấp không rõ)",
        "Not a valid pass (unknown issuer)",
    ),
    Reason.KEY_NOT_VALID: ("Giấy không hợp lệ (khóa cấp", "Not a valid pass (issuer key"),
    Reason.BAD_SIGNATURE: ("Giấy không hợp lệ (chữ ký)", "Not a valid pass (signature)"),
    Reason.NOT_YET_VALID: ("Chưa có hiệu lực, từ 06/12/2026", "Not valid yet, from 06/12/2026"),
    Reason.EXPIRED: ("Hết hạn ngày 21/11/2026", "Expired on 21/11/2026"),
    Reason.REVOKED: ("Đã bị thu hồi", "Revoked"),
    Reason.TRUST_EXPIRED: ("Dữ liệu xác thực của máy đã hết hạn", "Unit's trust data expired"),
    Reason.CLOCK_UNTRUSTED: ("Đồng hồ của máy không tin cậy", "Unit's clock not trusted"),
}


@pytest.fixture(scope="module")
def p() -> Passes:
    return passes()


def healthy(**changes: object) -> Health:
    return dataclasses.replace(
        Health(True, TrustState.FRESH, ClockState.SYNCED, Fill.OK),
        **changes,  # type: ignore[arg-type]
    )


def test_every_reason_has_words_in_both_languages() -> None:
    assert set(REASON_WORDS) == set(Reason)
    for language in ("vi", "en"):
        keys = {k for k in CATALOGUE[language] if k.startswith("reason.")}
        assert keys == {f"reason.{r.value}" for r in Reason}
    assert set(CATALOGUE["vi"]) == set(CATALOGUE["en"])


def test_accept_shows_word_name_masked_id_kind_and_end(p: Passes) -> None:
    screen = compose(p.verdict("valid"), VI, NOW)
    assert screen.tone is Tone.ACCEPT
    assert screen.lines[0].text == "HỢP LỆ"
    assert screen.lines[0].size is Size.HUGE
    assert "NGUYỄN VĂN AN" in screen.text
    assert "CCCD •••• •••• 1234" in screen.text
    assert "Giấy đi đường · hiệu lực đến 31/12/2026" in screen.text
    assert "Chốt CP-HN-01" in screen.text


def test_accept_in_english(p: Passes) -> None:
    screen = compose(p.verdict("valid"), EN, NOW)
    assert screen.lines[0].text == "VALID"
    assert "NGUYỄN VĂN AN" in screen.text  # the name exactly as signed, not translated
    assert "ID •••• •••• 1234" in screen.text
    assert "Travel pass · valid until 31/12/2026" in screen.text


def test_validity_end_is_in_local_time() -> None:
    # 17:30 UTC on 31/12 is already 1 January at a checkpoint in Vietnam (UTC+7).
    late = passes(NOW)
    verdict = late.verdict("valid")
    info = dataclasses.replace(verdict.info, expires_at=1798738200)  # type: ignore[arg-type]
    screen = compose(dataclasses.replace(verdict, info=info), VI, NOW)
    assert "01/01/2027" in screen.text


def test_test_card_is_shown_as_a_test_card_never_as_a_traveller(p: Passes) -> None:
    for locale, word in ((VI, "THẺ KIỂM TRA"), (EN, "TEST CARD")):
        screen = compose(p.verdict("test-card"), locale, NOW)
        assert screen.tone is Tone.TEST
        assert screen.lines[0].text == word
        assert "HỢP LỆ" not in screen.text
        assert "VALID" not in screen.text
        assert "1234" not in screen.text
        assert "0000" not in screen.text
    assert "not a traveller" in compose(p.verdict("test-card"), EN, NOW).text


def test_a_refused_test_card_still_says_test_card(p: Passes) -> None:
    expired_card = p.verdict("test-card", at=NOW + 60 * DAY)
    assert expired_card.reason is Reason.EXPIRED
    screen = compose(expired_card, EN, NOW)
    assert screen.lines[0].text == "REFUSED"
    assert "(test card)" in screen.text


@pytest.mark.parametrize("reason", list(Reason))
def test_reject_shows_the_reason_in_plain_words(p: Passes, reason: Reason) -> None:
    verdict = p.for_reason(reason)
    vi_words, en_words = REASON_WORDS[reason]
    vi, en = compose(verdict, VI, NOW), compose(verdict, EN, NOW)
    assert (vi.tone, en.tone) == (Tone.REJECT, Tone.REJECT)
    assert vi.lines[0].text == "TỪ CHỐI"
    assert en.lines[0].text == "REFUSED"
    assert vi_words in vi.lines[1].text
    assert en_words in en.lines[1].text


def test_reject_never_shows_the_holder(p: Passes) -> None:
    for name in ("expired", "revoked", "forged", "not-yet-valid"):
        text = compose(p.verdict(name), EN, NOW).text
        assert "NGUYỄN" not in text
        assert "TRAN THI" not in text
        assert "1234" not in text


def test_accept_under_stale_trust_warns(p: Passes) -> None:
    verdict = p.verdict("valid", at=NOW + 8 * DAY, clock=ClockState.UNSYNCED)
    assert verdict.accepted
    assert verdict.trust is TrustState.STALE
    text = compose(verdict, EN, NOW).text
    assert "Trust data stale" in text
    assert "Clock untrusted" in text


def test_control_characters_in_a_signed_name_never_reach_the_screen(p: Passes) -> None:
    verdict = p.verdict("valid")
    holder = dataclasses.replace(verdict.info.holder, name="NGUYE\u0302\u0303N\x1b[2J\u200b AN")  # type: ignore[union-attr]
    info = dataclasses.replace(verdict.info, holder=holder)  # type: ignore[arg-type]
    screen = compose(dataclasses.replace(verdict, info=info), VI, NOW)
    assert screen.lines[1].text == "NGUYỄN[2J AN"  # NFC-composed, escape byte gone
    assert "\x1b" not in screen.text


def test_ready_screen_shows_the_checkpoint_and_time() -> None:
    screen = compose(UnitStatus(healthy()), VI, NOW)
    assert screen.kind is Kind.STATUS
    assert screen.tone is Tone.READY
    assert screen.lines[0].text == "SẴN SÀNG"
    assert "Chốt CP-HN-01" in screen.text
    assert "07:00 01/12/2026" in screen.text
    assert compose(UnitStatus(healthy()), EN, NOW).lines[0].text == "READY"


@pytest.mark.parametrize(
    ("health", "vi_words", "en_words"),
    [
        (healthy(trust=TrustState.STALE), "Dữ liệu xác thực đã cũ", "Trust data stale"),
        (healthy(trust=TrustState.EXPIRED), "Dữ liệu xác thực hết hạn", "Trust data expired"),
        (healthy(clock=ClockState.UNSYNCED), "Đồng hồ chưa được xác thực", "Clock untrusted"),
        (healthy(clock=ClockState.BEHIND), "Đồng hồ bị lùi", "Clock set back"),
        (healthy(outbox_fill=Fill.HIGH), "Bộ nhớ sự kiện đầy 80%", "Outbox 80% full"),
        (healthy(camera_ok=False), "Không có camera", "No camera"),
    ],
)
def test_degraded_screen_names_the_state(health: Health, vi_words: str, en_words: str) -> None:
    vi, en = compose(UnitStatus(health), VI, NOW), compose(UnitStatus(health), EN, NOW)
    assert vi.tone is Tone.WARN
    assert vi_words in vi.text
    assert en_words in en.text


def test_no_camera_says_the_unit_is_not_scanning() -> None:
    screen = compose(UnitStatus(healthy(camera_ok=False)), EN, NOW)
    assert screen.lines[0].text == "NOT SCANNING"


def test_offline_screen_says_for_how_long() -> None:
    status = UnitStatus(healthy(), offline_since=NOW - (2 * 3600 + 5 * 60))
    assert "Mất kết nối 2 giờ 5 phút" in compose(status, VI, NOW).text
    assert "Offline for 2 h 5 min" in compose(status, EN, NOW).text
    days = UnitStatus(healthy(), offline_since=NOW - 3 * DAY - 3600)
    assert "Offline for 3 d 1 h" in compose(days, EN, NOW).text


def test_unreadable_asks_to_hold_steady() -> None:
    screen = compose(None, EN, NOW)
    assert isinstance(screen, Screen)
    assert screen.kind is Kind.UNREADABLE
    assert "Code unreadable, hold steady" in screen.text
    assert "Không đọc được mã, giữ yên" in compose(None, VI, NOW).text
