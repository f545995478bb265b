"""Cuts streamed reply text into sentences, so each can be spoken as soon as it is complete.

The first chunk may also end at a comma once it is long enough: the sooner the first sentence
reaches TTS, the sooner the box starts talking. A period inside a number (3.5), an abbreviation
(Dr., e.g.) or an initial (J. Smith) is not a sentence end.
"""

from __future__ import annotations

import re

CJK_ENDS = "。！？；…"
ASCII_ENDS = ".!?;"
COMMAS = "，,、：:"
CLOSERS = "\"'”’）)」』"
ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "st",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "no",
    "jr",
    "sr",
    "a.m",
    "p.m",
    "approx",
    "fig",
    "inc",
    "ltd",
    "co",
    "mt",
}
FIRST_CHUNK_MIN_CHARS = 12
_INITIALS = re.compile(r"(?:[a-z]\.)*[a-z]")


def _is_abbreviation(before: str) -> bool:
    """Dr, e.g, an initial (J), or dotted initials (U.S)."""
    word = before.split()[-1].lower() if before.split() else ""
    word = word.lstrip("(\"'“‘")
    return word in ABBREVIATIONS or bool(_INITIALS.fullmatch(word))


def _after_closers(buf: str, i: int) -> int:
    while i + 1 < len(buf) and buf[i + 1] in CLOSERS:
        i += 1
    return i


def _cjk_end(buf: str, i: int) -> int:
    """Where a sentence ending at buf[i] stops: through repeated marks (……, ？！) and closers."""
    while i + 1 < len(buf) and (buf[i + 1] in CLOSERS or buf[i + 1] in CJK_ENDS + "!?"):
        i += 1
    return NEED_MORE if i + 1 >= len(buf) else i


NEED_MORE = -1  # the next character decides


def _ascii_end(buf: str, i: int) -> int | None:
    """Where the sentence that buf[i] ends stops; None if buf[i] ends none; NEED_MORE."""
    j = _after_closers(buf, i)
    if j + 1 >= len(buf):
        return NEED_MORE
    if not buf[j + 1].isspace():
        return None  # 3.5, e.g., a URL, "..."
    if buf[i] == "." and _is_abbreviation(buf[:i]):
        return None
    return j


def _comma_ends_first_chunk(buf: str, i: int) -> bool:
    if len(buf[:i].strip()) < FIRST_CHUNK_MIN_CHARS:
        return False
    return buf[i] in "，、：" or (i + 1 < len(buf) and buf[i + 1].isspace())


def find_boundary(buf: str, first: bool) -> int | None:
    """Index of the last character of the first complete chunk in `buf`, or None."""
    for i, ch in enumerate(buf):
        if ch == "\n" and buf[:i].strip():
            return i
        if ch in CJK_ENDS:
            cjk_end = _cjk_end(buf, i)
            return None if cjk_end == NEED_MORE else cjk_end
        if ch in ASCII_ENDS:
            ascii_end = _ascii_end(buf, i)
            if ascii_end == NEED_MORE:
                return None
            if ascii_end is not None:
                return ascii_end
        if first and ch in COMMAS and _comma_ends_first_chunk(buf, i):
            return i
    return None


class SentenceChunker:
    def __init__(self) -> None:
        self._buf = ""
        self._emitted = 0

    def push(self, text: str) -> list[str]:
        """Add streamed text; return the chunks it completed."""
        self._buf += text
        chunks: list[str] = []
        while (end := find_boundary(self._buf, first=self._emitted == 0)) is not None:
            chunk, self._buf = self._buf[: end + 1].strip(), self._buf[end + 1 :]
            if chunk:
                chunks.append(chunk)
                self._emitted += 1
        return chunks

    def flush(self) -> list[str]:
        """The rest, at the end of the stream."""
        rest, self._buf = self._buf.strip(), ""
        if rest:
            self._emitted += 1
            return [rest]
        return []
