"""Screen -> text: the full-screen view on a tty, as a plain buffer and as ANSI for a terminal."""

from __future__ import annotations

import textwrap

from scanner.display.screen import Screen, Size, Tone

# Linux console colours (SGR): 8 backgrounds, bright white or black text.
_SGR = {
    Tone.ACCEPT: "1;97;42",
    Tone.REJECT: "1;97;41",
    Tone.TEST: "1;30;43",
    Tone.READY: "1;97;40",
    Tone.WARN: "1;93;40",
}


def render_text(screen: Screen, cols: int = 40, rows: int = 12) -> str:
    """The screen as `rows` lines of `cols` characters, centred; the verdict word framed.

    A tty has one text size, so size is told by position and a rule above and
    below the verdict word, and lines too long for the width are wrapped.
    """
    body: list[str] = []
    for line in screen.lines:
        wrapped = textwrap.wrap(line.text, cols) or [""]
        if line.size is Size.HUGE:
            rule = "=" * min(cols, max(len(w) for w in wrapped) + 6)
            body += [rule, *wrapped, rule]
        else:
            body += wrapped
        if line.size <= Size.LARGE:
            body.append("")
    body = body[:rows]
    top = (rows - len(body)) // 2
    lines = [""] * top + body + [""] * (rows - top - len(body))
    return "\n".join(text.center(cols).rstrip() for text in lines)


def render_ansi(screen: Screen, cols: int, rows: int) -> str:
    """The same view as one write to a terminal: colours, clear, home, no cursor."""
    sgr = f"\x1b[{_SGR[screen.tone]}m"
    # Every line is padded and erased to its end so the background colour fills the screen.
    lines = [f"{text.ljust(cols)}\x1b[K" for text in render_text(screen, cols, rows).split("\n")]
    return f"\x1b[?25l{sgr}\x1b[2J\x1b[H" + "\r\n".join(lines) + "\x1b[0m"


def blank_ansi() -> str:
    """Reset colours, clear, and show the cursor again (on close)."""
    return "\x1b[0m\x1b[2J\x1b[H\x1b[?25h"
