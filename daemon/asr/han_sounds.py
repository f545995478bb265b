"""How each Han character sounds, and which longer words exist: pypinyin's data in 1 MB.

Restoring the persona's name by sound (daemon/asr/hotwords.py) needs each character's toneless
pinyin and tone, and whether a few characters around a span form a known word. pypinyin has
both, but importing it costs ~52 MB of RSS (it loads every dictionary and builds its word
segmenter), a fifth of a small box. What the restoring reads is kept here instead, as two text
files made from pypinyin by `python -m daemon.asr.han_sounds` (pypinyin is MIT-licensed; its
data comes from pinyin-data and phrase-pinyin-data):
- data/han_sounds.txt: one line per reading, "xiao3<TAB>小晓筱...": every character of the CJK
  blocks Whisper writes, with the reading pypinyin gives it alone (neutral tone as 5);
- data/han_words.txt: pypinyin's words of two or more characters, one per line.
Loaded at the first Chinese transcript: ~4 MB. A test checks both against pypinyin itself.
"""

from __future__ import annotations

import re
import sys
from functools import cache
from importlib import resources
from pathlib import Path

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
MIN_WORD = 2  # a one-character hotword's longer word has two
_DATA = "data"
SOUNDS_FILE = "han_sounds.txt"
WORDS_FILE = "han_words.txt"


def _read(name: str) -> str:
    return resources.files("daemon.asr").joinpath(_DATA, name).read_text(encoding="utf-8")


@cache
def _sounds() -> dict[str, tuple[str, str]]:
    table: dict[str, tuple[str, str]] = {}
    for line in _read(SOUNDS_FILE).splitlines():
        reading, characters = line.split("\t")
        sound = (sys.intern(reading[:-1]), sys.intern(reading[-1]))
        for character in characters:
            table[character] = sound
    return table


@cache
def _words() -> frozenset[str]:
    return frozenset(_read(WORDS_FILE).splitlines())


def sound(character: str) -> tuple[str, str]:
    """(toneless pinyin, tone digit 1-5) of one Han character; ("", "") if unknown."""
    return _sounds().get(character, ("", ""))


def is_word(text: str) -> bool:
    """`text` (two characters or more) is a word pypinyin knows."""
    return text in _words()


# --- making the files (needs pypinyin; run when pypinyin's data changes) -----------------------


def _reading(character: str) -> str | None:
    from pypinyin import Style, lazy_pinyin

    [toned] = lazy_pinyin(character, style=Style.TONE3, neutral_tone_with_five=True)
    [plain] = lazy_pinyin(character, style=Style.NORMAL)
    if not toned[-1:].isdigit() or not plain.isascii() or not plain.isalpha():
        return None
    return plain.lower() + toned[-1]


def build_sounds() -> str:
    from pypinyin.pinyin_dict import pinyin_dict

    by_reading: dict[str, list[str]] = {}
    for code in sorted(pinyin_dict):
        character = chr(code)
        if HAN.fullmatch(character) and (reading := _reading(character)):
            by_reading.setdefault(reading, []).append(character)
    return "".join(f"{r}\t{''.join(cs)}\n" for r, cs in sorted(by_reading.items()))


def build_words() -> str:
    from pypinyin.phrases_dict import phrases_dict

    words = sorted(w for w in phrases_dict if len(w) >= MIN_WORD and HAN.search(w))
    return "".join(f"{w}\n" for w in words)


def main() -> int:
    folder = Path(__file__).parent / _DATA
    (folder / SOUNDS_FILE).write_text(build_sounds(), encoding="utf-8")
    (folder / WORDS_FILE).write_text(build_words(), encoding="utf-8")
    print(f"wrote {folder / SOUNDS_FILE} and {folder / WORDS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
