"""Makes LLM text speakable: no markdown, code, emoji or URLs read out symbol by symbol."""

from __future__ import annotations

import re

_CODE_FENCE = re.compile(r"```.*?(```|$)", re.S)
_INLINE_CODE = re.compile(r"`([^`]*)`")
_URL = re.compile(r"https?://\S+|www\.\S+")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(^\s*[-*+]\s+|^#{1,6}\s*|^\s*>\s?|\*\*|__|\*|~~)", re.M)
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\u200d\ufe0f]+")
_SPACES = re.compile(r"[ \t]{2,}")


def clean_for_speech(text: str) -> str:
    text = _CODE_FENCE.sub(" ", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub(" ", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _MD_MARKS.sub("", text)
    text = _EMOJI.sub("", text)
    return _SPACES.sub(" ", text).strip()


class CodeFenceFilter:
    """Drops ``` fenced blocks from streamed text; a fence may arrive split across tokens."""

    FENCE = "```"

    def __init__(self) -> None:
        self._inside = False
        self._carry = ""

    def push(self, text: str) -> str:
        text, self._carry = self._carry + text, ""
        spoken: list[str] = []
        while (at := text.find(self.FENCE)) >= 0:
            if not self._inside:
                spoken.append(text[:at])
            self._inside = not self._inside
            text = text[at + len(self.FENCE) :]
        body = text.rstrip("`")
        self._carry = text[len(body) :]  # 1-2 backticks that may start the next fence
        if not self._inside:
            spoken.append(body)
        return "".join(spoken)

    def flush(self) -> str:
        rest, self._carry = self._carry, ""
        return "" if self._inside else rest


_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_LAST = re.compile(f"[{_CJK}]$")
_CJK_FIRST = re.compile(f"^[{_CJK}]")


def join_sentences(sentences: list[str]) -> str:
    """Sentences as one text: a space between English ones, none where Chinese meets Chinese
    (「你好。现在几点？」, not 「你好。 现在几点？」)."""
    text = ""
    for sentence in (s.strip() for s in sentences):
        if not sentence:
            continue
        if text and not (_CJK_LAST.search(text) and _CJK_FIRST.search(sentence)):
            text += " "
        text += sentence
    return text
