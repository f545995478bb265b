"""Put the persona's name and hotwords back into a transcript by their sound.

Whisper hears 小智 well enough but writes it as it likes: 小知, 晓志, 小子, 小吃. A prompt that
names 小智 fixes the spelling, but on Mandarin it costs accuracy on everything else and makes
Whisper echo the name on room hiss (scripts/bench asr-tuning, README). So the transcript is
decoded without the name and repaired afterwards: a span whose toneless pinyin is the hotword's
is rewritten to the hotword's own characters.

The rule, on spans of Han characters (whitespace inside a span is ignored: Whisper writes a
pause inside a name as "小 字"). Each syllable heard must be the hotword's own toneless pinyin
or a near form of it (NEAR_SYLLABLES: zhi heard as zi or chi). Then:
- strong, every tone as the hotword's (小志, 晓志, 曉智, and 小字: Whisper keeps the tone and
  misses the retroflex): rewritten when the span is bounded on at least one side (start or end
  of the text, punctuation, a greeting such as 你好/谢谢, or the name itself).
- weak, some tone differs (小知, 小子, 小吃, 小资, 小指): these are mostly real words, so only a
  span that stands alone as an address, bounded on both sides ("小子，几点了", "你好小子"), is
  rewritten; "这个小子很调皮", "我想吃小吃" and "我的小指疼" are left alone.
- a span inside a longer word that pypinyin's phrase dictionary knows (晓之以理) is left alone.
Latin hotwords ("Jarvis") match whole words in any case and get the hotword's spelling.
Spans already spelled as the hotword are left alone, so restoring twice changes nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from daemon.asr.han_sounds import is_word, sound
from daemon.wake.verify import NEAR_SYLLABLES

_UNIT = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[A-Za-z]+")
# Words that may stand next to a name said as an address.
_BEFORE = (
    "你好",
    "您好",
    "谢谢你",
    "谢谢",
    "嗨",
    "嘿",
    "哈喽",
    "喂",
    "晚安",
    "早安",
    "再见",
    "好的",
)
_LONGEST_WORD = 4  # extra characters around a span looked at for a longer word
_AFTER = ("你好", "您好", "你", "您", "晚安", "早安", "再见", "谢谢")


@dataclass(frozen=True)
class Unit:
    """One Han character or one Latin word of a text, and how it sounds."""

    start: int
    end: int
    key: str  # toneless pinyin of a character, lower case of a word
    han: bool
    tone: str = ""  # a character's tone digit (5: neutral)


def units(text: str, sounds: bool = True) -> list[Unit]:
    """The text's characters and words; `sounds` False leaves Han characters unread, so a
    Latin-only hotword never loads the sound table (daemon/asr/han_sounds.py, ~4 MB)."""
    out = []
    for match in _UNIT.finditer(text):
        piece = match.group()
        if piece.isascii():
            out.append(Unit(match.start(), match.end(), piece.lower(), han=False))
        else:
            key, tone = sound(piece) if sounds else ("", "")
            out.append(Unit(match.start(), match.end(), key, han=True, tone=tone))
    return out


def _joined(text: str, left: Unit, right: Unit) -> bool:
    """Nothing but whitespace between two units of one span."""
    return text[left.end : right.start].strip() == ""


def _bounded_before(text: str, start: int, hotword: str) -> bool:
    before = text[:start].rstrip()
    return not before or not before[-1].isalnum() or before.endswith((*_BEFORE, hotword))


def _bounded_after(text: str, end: int, hotword: str) -> bool:
    after = text[end:].lstrip()
    return not after or not after[0].isalnum() or after.startswith((*_AFTER, hotword))


def _match(
    found: Sequence[Unit], wanted: Sequence[Unit], near: Mapping[str, tuple[str, ...]]
) -> str | None:
    """ "strong", "weak" or None: how the heard units sound against the hotword's."""
    how = "strong"
    for heard, want in zip(found, wanted, strict=True):
        if heard.han != want.han or not heard.key:
            return None
        if heard.key != want.key and (not heard.han or heard.key not in near.get(want.key, ())):
            return None
        if heard.tone != want.tone:
            how = "weak"
    return how


def _inside_a_longer_word(text: str, start: int, end: int) -> bool:
    """The span is part of a longer word pypinyin knows (晓之以理): a word, not the name."""
    for length in range(end - start + 1, end - start + 1 + _LONGEST_WORD):
        for first in range(max(0, end - length), min(start, len(text) - length) + 1):
            if is_word(text[first : first + length]):
                return True
    return False


def _allowed(text: str, start: int, end: int, how: str, hotword: str) -> bool:
    if _inside_a_longer_word(text, start, end):
        return False
    before, after = _bounded_before(text, start, hotword), _bounded_after(text, end, hotword)
    return (before and after) if how == "weak" else (before or after)


def _restore_one(
    text: str, hotword: str, near: Mapping[str, tuple[str, ...]], keep: frozenset[str]
) -> str:
    """One left-to-right pass for one hotword; spans spelled as any hotword (`keep`) stay."""
    wanted = units(hotword)
    if not wanted:
        return text
    n = len(wanted)
    han = any(unit.han for unit in wanted)
    found = units(text, sounds=han)
    index = 0
    while index + n <= len(found):
        span = found[index : index + n]
        start, end = span[0].start, span[-1].end
        contiguous = all(_joined(text, a, b) for a, b in zip(span, span[1:], strict=False))
        how = _match(span, wanted, near) if contiguous else None
        if (
            how
            and text[start:end] not in keep
            and (not han or _allowed(text, start, end, how, hotword))
        ):
            text = text[:start] + hotword + text[end:]
            found = units(text, sounds=han)  # positions after the span moved
            index += n  # the hotword's own units: never looked at again
        else:
            index += 1
    return text


def restore_hotwords(
    text: str, hotwords: Iterable[str], near: Mapping[str, tuple[str, ...]] = NEAR_SYLLABLES
) -> str:
    """`text` with every span that sounds like a hotword written as the hotword (rules above).

    Longer hotwords go first, so a name is not broken by a shorter hotword inside it. A name
    next to a restored one counts as bounded ("小子小志" -> "小智小智"), so the passes repeat
    until nothing changes: restoring a restored text changes nothing.
    """
    keep = frozenset(h.strip() for h in hotwords if h.strip())
    ordered = sorted(keep, key=len, reverse=True)
    for _ in range(len(text) + 1):  # each pass that changes anything adds a hotword
        before = text
        for hotword in ordered:
            text = _restore_one(text, hotword, near, keep)
        if text == before:
            break
    return text
