"""Every word the officer display shows, in Vietnamese and English, keyed by message."""

from __future__ import annotations

from types import MappingProxyType

from scanner.display.config import Language
from scanner.model import PassKind, Reason

# Reason texts take {date} (dd/mm/yyyy, local) where the pass carries one; the
# officer reads them aloud to the traveller, so they say what happened, not codes.
_VI: dict[str, str] = {
    "accept": "HỢP LỆ",
    "reject": "TỪ CHỐI",
    "test_card": "THẺ KIỂM TRA",
    "test_card_note": "Thẻ của kỹ thuật viên, không phải hành khách",
    "test_card_ok": "Máy quét hoạt động bình thường",
    "test_card_rejected": "(thẻ kiểm tra)",
    "id_label": "CCCD",
    "valid_until": "hiệu lực đến {date}",
    "kind.travel": "Giấy đi đường",
    "kind.test": "Thẻ kiểm tra",
    "unreadable": "ĐƯA LẠI MÃ",
    "unreadable_note": "Không đọc được mã, giữ yên",
    "ready": "SẴN SÀNG",
    "not_scanning": "NGỪNG QUÉT",
    "checkpoint": "Chốt {label}",
    "reason.not_a_pass": "Không phải giấy đi đường",
    "reason.malformed": "Mã bị hỏng, không đọc được nội dung",
    "reason.too_large": "Mã quá lớn, không phải giấy đi đường",
    "reason.unknown_key": "Giấy không hợp lệ (nơi cấp không rõ)",
    "reason.key_not_valid": "Giấy không hợp lệ (khóa cấp hết hạn)",
    "reason.bad_signature": "Giấy không hợp lệ (chữ ký)",
    "reason.not_yet_valid": "Chưa có hiệu lực, từ {date}",
    "reason.expired": "Hết hạn ngày {date}",
    "reason.revoked": "Đã bị thu hồi",
    "reason.trust_expired": "Dữ liệu xác thực của máy đã hết hạn",
    "reason.clock_untrusted": "Đồng hồ của máy không tin cậy",
    "reason.wrong_key_usage": "Chứng nhận không hợp lệ (nơi ký không được cấp loại này)",
    "reason.rule_failed": "Không đáp ứng quy định nhập cảnh ({rule})",
    "dcc.kind": "Chứng nhận COVID EU",
    "dcc.born": "Ngày sinh {dob}",
    "dcc.issued_by": "Nước cấp {country}",
    "dcc.vaccination": "Tiêm chủng mũi {dose}/{doses} ngày {date}",
    "dcc.test.LP6464-4": "Xét nghiệm PCR, lấy mẫu {date}",
    "dcc.test.LP217198-3": "Xét nghiệm nhanh kháng nguyên, lấy mẫu {date}",
    "dcc.test": "Xét nghiệm, lấy mẫu {date}",
    "dcc.recovery": "Đã khỏi COVID-19, hiệu lực đến {date}",
    "state.no_camera": "Không có camera",
    "state.trust_stale": "Dữ liệu xác thực đã cũ",
    "state.trust_expired": "Dữ liệu xác thực hết hạn",
    "state.revocations_stale": "Danh sách thu hồi đã cũ",
    "state.revocations_gapped": "Danh sách thu hồi bị thiếu",
    "state.clock_unsynced": "Đồng hồ chưa được xác thực",
    "state.clock_behind": "Đồng hồ bị lùi, không tin cậy",
    "state.outbox": "Bộ nhớ sự kiện đầy {pct}%",
    "state.log_failed": "Không ghi được nhật ký",
    "state.offline": "Mất kết nối {duration}",
    "duration.minutes": "{m} phút",
    "duration.hours": "{h} giờ {m} phút",
    "duration.days": "{d} ngày {h} giờ",
}

_EN: dict[str, str] = {
    "accept": "VALID",
    "reject": "REFUSED",
    "test_card": "TEST CARD",
    "test_card_note": "Technician's card, not a traveller",
    "test_card_ok": "Scanner is working",
    "test_card_rejected": "(test card)",
    "id_label": "ID",
    "valid_until": "valid until {date}",
    "kind.travel": "Travel pass",
    "kind.test": "Test card",
    "unreadable": "SCAN AGAIN",
    "unreadable_note": "Code unreadable, hold steady",
    "ready": "READY",
    "not_scanning": "NOT SCANNING",
    "checkpoint": "Checkpoint {label}",
    "reason.not_a_pass": "Not a checkpoint pass",
    "reason.malformed": "Damaged code, content unreadable",
    "reason.too_large": "Code too large, not a pass",
    "reason.unknown_key": "Not a valid pass (unknown issuer)",
    "reason.key_not_valid": "Not a valid pass (issuer key expired)",
    "reason.bad_signature": "Not a valid pass (signature)",
    "reason.not_yet_valid": "Not valid yet, from {date}",
    "reason.expired": "Expired on {date}",
    "reason.revoked": "Revoked",
    "reason.trust_expired": "Unit's trust data expired",
    "reason.clock_untrusted": "Unit's clock not trusted",
    "reason.wrong_key_usage": "Not valid (signer may not issue this kind)",
    "reason.rule_failed": "Entry rule not met ({rule})",
    "dcc.kind": "EU COVID certificate",
    "dcc.born": "Born {dob}",
    "dcc.issued_by": "Issued by {country}",
    "dcc.vaccination": "Vaccinated, dose {dose} of {doses} on {date}",
    "dcc.test.LP6464-4": "PCR test, sampled {date}",
    "dcc.test.LP217198-3": "Rapid antigen test, sampled {date}",
    "dcc.test": "Test, sampled {date}",
    "dcc.recovery": "Recovered from COVID-19, valid until {date}",
    "state.no_camera": "No camera",
    "state.trust_stale": "Trust data stale",
    "state.trust_expired": "Trust data expired",
    "state.revocations_stale": "Revocation list out of date",
    "state.revocations_gapped": "Revocation updates missing",
    "state.clock_unsynced": "Clock untrusted",
    "state.clock_behind": "Clock set back, untrusted",
    "state.outbox": "Outbox {pct}% full",
    "state.log_failed": "Could not log",
    "state.offline": "Offline for {duration}",
    "duration.minutes": "{m} min",
    "duration.hours": "{h} h {m} min",
    "duration.days": "{d} d {h} h",
}

CATALOGUE: MappingProxyType[str, MappingProxyType[str, str]] = MappingProxyType(
    {"vi": MappingProxyType(_VI), "en": MappingProxyType(_EN)}
)


def text(language: Language, key: str, **values: object) -> str:
    """The message `key` in `language`, with `values` filled in."""
    return CATALOGUE[language][key].format(**values)


def reason_text(language: Language, reason: Reason, date: str, rule: str = "") -> str:
    """The plain words for a reject reason; every Reason has an entry."""
    return text(language, f"reason.{reason.value}", date=date, rule=rule)


def kind_text(language: Language, kind: PassKind) -> str:
    """The word for a pass kind in `language`."""
    return text(language, f"kind.{kind.name.lower()}")


def duration_text(language: Language, seconds: float) -> str:
    """A coarse duration such as "2 giờ 5 phút": the officer needs the order of magnitude."""
    minutes = max(0, int(seconds // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return text(language, "duration.days", d=days, h=hours)
    if hours:
        return text(language, "duration.hours", h=hours, m=mins)
    return text(language, "duration.minutes", m=mins)
