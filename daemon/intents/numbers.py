"""Number words to digits, so the parsers match one form: "twenty five" / 二十五 -> 25.

Chinese numerals go through cn2an, one run of numeral characters at a time. Its sentence-level
transform is not used because it reads 点 as a decimal point (十点零五分 -> 10.05分) and 半 as 0.5,
which breaks clock times. English has no such library that also knows "a minute and a half",
so a small table does it: cardinal words up to the thousands, and "a"/"an" before a unit.
"""

from __future__ import annotations

import re

from daemon.tts.normalize import en_int

_ZH_RUN = re.compile(r"[零〇一二两三四五六七八九十百千万廿幺]+")
# The words the TTS normalizer speaks numbers with, read backwards: zero..nineteen, the tens.
EN_WORDS: dict[str, int] = {en_int(n): n for n in [*range(20), *range(20, 100, 10)]}
_SCALES = {"hundred": 100, "thousand": 1000}
# "a"/"an" is one only before these: "an hour", "a minute and a half", "a quarter".
_UNIT_AFTER_A = re.compile(r"\b(?:a|an)\b(?=\s+(?:hour|hr|minute|min|second|sec|half|quarter)s?\b)")
_COUPLE = re.compile(r"\ba couple(?: of)?\b")


def zh_digits(text: str) -> str:
    """Chinese numeral runs as Arabic digits: 一个半小时 -> 1个半小时, 十点零五分 -> 10点5分."""

    def convert(match: re.Match[str]) -> str:
        import cn2an  # only once Chinese numerals appear: 3.3 MB an English box never needs

        run = match.group()
        try:
            return str(cn2an.cn2an(run, "smart"))
        except (ValueError, KeyError, IndexError):
            return run  # not a number after all (万万)

    return _ZH_RUN.sub(convert, text)


def en_digits(text: str) -> str:
    """English number words as digits: "twenty five" -> "25", "seven thirty" -> "7 30"."""
    text = _UNIT_AFTER_A.sub("1", _COUPLE.sub("2", text.replace("-", " ")))
    out: list[str] = []
    number: _Number | None = None
    for word in text.split():
        if number is not None and number.takes(word):
            number.add(word)
            continue
        if number is not None:
            out.extend(number.words())
            number = None
        if word in EN_WORDS:
            number = _Number(word)
        else:
            out.append(word)
    if number is not None:
        out.extend(number.words())
    return " ".join(out)


class _Number:
    """One spoken cardinal being read word by word ("one hundred and twenty five")."""

    def __init__(self, word: str) -> None:
        self.total, self.current, self.last = 0, EN_WORDS[word], word
        self.dangling_and = False

    def takes(self, word: str) -> bool:
        """Whether `word` continues this number rather than starting a new one."""
        last = EN_WORDS.get(self.last, 0)
        if word in _SCALES:
            return self.last not in _SCALES and not self.dangling_and
        if word == "and":
            return self.last in _SCALES
        if word not in EN_WORDS:
            return False
        value = EN_WORDS[word]
        if self.last in _SCALES or self.last == "and":
            return True
        return last >= 20 and last % 10 == 0 and 0 < value < 10  # twenty five

    def add(self, word: str) -> None:
        self.dangling_and = word == "and"
        if word in _SCALES:
            self.current = max(self.current, 1) * _SCALES[word]
            if word == "thousand":
                self.total, self.current = self.total + self.current, 0
        elif word != "and":
            self.current += EN_WORDS[word]
        self.last = word

    def words(self) -> list[str]:
        return [str(self.total + self.current), *(["and"] if self.dangling_and else [])]


def digits(text: str) -> str:
    """Both at once: Chinese runs and English words (a transcript may mix them)."""
    return en_digits(zh_digits(text))
