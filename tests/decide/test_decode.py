"""The decoder reads what the bare zxing call reads, and more, with exact bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zxingcpp

from scanner.camera.images import load_gray
from scanner.camera.synthetic import Pose, background, card, place, render_code
from scanner.decide.decode import DecodedCode, Decoder, rank

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "zxing-qrcode"
QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def corpus_images() -> list[Path]:
    suffixes = {".png", ".jpg", ".webp"}
    return sorted(p for p in CORPUS.glob("*/*") if p.suffix in suffixes)


needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")


@needs_corpus
def test_corpus_is_read_at_least_as_well_as_the_bare_call() -> None:
    decoder = Decoder()
    ours = bare = 0
    for path in corpus_images():
        expected = path.with_suffix(".txt").read_bytes()  # binary: the codes carry CR LF
        gray = load_gray(path)
        result = decoder.decode(gray)
        ours += any(c.text.encode() == expected for c in result.codes)
        plain = zxingcpp.TextMode.Plain
        found = zxingcpp.read_barcodes(gray, formats=QR, text_mode=plain)
        bare += any(b.text.encode() == expected for b in found)
    assert ours >= bare
    assert ours >= 110


@needs_corpus
def test_content_is_the_exact_bytes_of_the_symbol() -> None:
    # qrcode-2/10.png is Shift_JIS: the bytes differ from the UTF-8 text.
    gray = load_gray(CORPUS / "qrcode-2" / "10.png")
    code = Decoder().decode(gray).codes[0]
    assert code.content.startswith(b"Google \x83\x82")
    assert code.text.encode() == (CORPUS / "qrcode-2" / "10.txt").read_bytes()


def test_binary_and_control_bytes_survive() -> None:
    # A pass-sized payload with every base45 character and the CR LF a text file would carry.
    payload = "HC1:" + "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:" * 8 + "\r\n\x00\x01"
    gray = render_code(payload, (640, 480))
    code = Decoder().decode(gray).codes[0]
    assert code.content == payload.encode()


def test_empty_frame_gives_no_codes_and_no_escalation() -> None:
    result = Decoder().decode(background((640, 480), seed=3))
    assert result.codes == ()
    assert not result.escalated


def test_dark_mode_code_is_read() -> None:
    frame = place(background((640, 480), 1), card("dark mode pass", dark=True), _steady())
    assert Decoder().decode(frame).codes[0].content == b"dark mode pass"


def test_several_codes_are_all_reported_and_the_largest_central_one_comes_first() -> None:
    frame = background((640, 480), 2)
    frame = place(frame, card("small corner", dark=False), Pose((0.15, 0.2), 0.25, 0, 0, 0, 0, 0))
    frame = place(frame, card("big middle", dark=False), Pose((0.6, 0.55), 0.55, 0, 0, 0, 0, 0))
    result = Decoder().decode(frame)
    assert [c.content for c in result.codes] == [b"big middle", b"small corner"]
    assert result.primary is not None
    assert result.primary.content == b"big middle"


def test_among_codes_of_similar_size_the_central_one_wins() -> None:
    def code(x: int, y: int, side: int, content: bytes) -> DecodedCode:
        corners = ((x, y), (x + side, y), (x + side, y + side), (x, y + side))
        return DecodedCode(content=content, corners=corners)

    edge, centre = code(0, 0, 100, b"edge"), code(270, 190, 95, b"centre")
    assert [c.content for c in rank([edge, centre], 640, 480)] == [b"centre", b"edge"]


def test_failed_symbols_are_retried_on_their_region_and_read() -> None:
    # Hard presentations: bare zxing locates a symbol but cannot decode it. The retry ladder
    # must read some of those, never read a wrong text, and never lose what bare reads.
    text = "HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH"
    rng = np.random.default_rng(0)
    decoder = Decoder(budget_ms=1000.0)  # no time limit: the test is about outcomes
    recovered = 0
    for trial in range(150):
        pose = Pose(
            (rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)),
            rng.uniform(0.15, 0.6),
            rng.uniform(-30, 30),
            rng.uniform(0, 0.4),
            rng.uniform(0, 12),
            rng.uniform(0, 3),
            rng.uniform(0, 0.9),
        )
        frame = place(background((640, 480), trial), card(text, trial % 3 == 0), pose)
        noise = rng.normal(0, rng.uniform(0, 12), frame.shape)
        frame = np.clip(frame + noise, 0, 255).astype(np.uint8)
        bare = zxingcpp.read_barcodes(frame, formats=QR, return_errors=True)
        result = decoder.decode(frame)
        assert all(c.text == text for c in result.codes)
        if any(b.valid for b in bare):
            assert result.codes
        elif bare and result.codes:
            recovered += 1
            assert result.escalated
    assert recovered >= 1


@needs_corpus
def test_budget_stops_escalation() -> None:
    # qrcode-2/12.webp is read only by a retry step (texture inside the modules).
    gray = load_gray(CORPUS / "qrcode-2" / "12.webp")
    assert Decoder(budget_ms=0.0).decode(gray).codes == ()
    assert Decoder().decode(gray).codes


def test_input_that_is_not_grey_uint8_is_refused() -> None:
    with pytest.raises(ValueError, match="2-D uint8"):
        Decoder().decode(np.zeros((10, 10, 3), np.uint8))


def _steady() -> Pose:
    return Pose((0.5, 0.5), 0.5, 3.0, 0.05, 0.0, 0.6, 0.0)
