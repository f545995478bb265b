"""Does the transcript so far read like a finished request? The text half of end-of-turn.

People pause after words that need more: "set a timer for ...", "turn off the ...",
"remind me in 10 ...", "帮我 ...", "今天的 ...", "定一个 ...", "明天早上七 ...". A transcript
that ends on such a word is UNFINISHED whatever the audio sounds like; one that ends on
anything else is FINISHED; no transcript yet is UNKNOWN. A number at the end counts as
unfinished: "set an alarm for seven" then only waits the longer hangover, while "remind me
at 9 ... to take my pills" is not cut. Whisper's punctuation helps: a trailing comma or
ellipsis reads as unfinished, and so does the ASR's own unsure mark (daemon.asr.base.UNSURE_MARK:
words it is still decoding or unsure of).
"""

from __future__ import annotations

import re
from enum import StrEnum

from daemon.asr.base import UNSURE_MARK


class TextSignal(StrEnum):
    UNFINISHED = "unfinished"
    FINISHED = "finished"
    UNKNOWN = "unknown"


_CONTINUATIONS = (
    "a an the and or but to of in on at for with from by my your his her our their this that "
    "these those is are was were be what where when which who how about like um uh er so "
    "because if can could would into onto until than some any "
)
_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
    "ninety hundred thousand"
)
CONTINUATION_WORDS = frozenset(_CONTINUATIONS.split())
NUMBER_WORDS = frozenset(_NUMBER_WORDS.split())
CONTINUATION_ENDINGS_ZH = (
    "的", "和", "还有", "然后", "就是", "那个", "嗯", "呃", "在", "把", "给", "跟", "是", "要",
    "帮我", "请", "个", "到", "从", "对", "让", "叫", "或者", "还是", "等于", "加", "减",
)  # fmt: skip
_ZH_NUMERALS = "零一二两三四五六七八九十百千万"
_UNFINISHED_MARKS = (",", "，", "、", "...", UNSURE_MARK, "-", "—", ":", "：")  # UNSURE_MARK: "…"
_TRAILING_MARKS = " \t\n.,!?;:。，！？；：、…\"'“”‘’-—()（）"
_WORD = re.compile(r"[a-z0-9']+")


def text_signal(partial: str) -> TextSignal:
    """UNFINISHED, FINISHED or UNKNOWN (empty) for a partial transcript, English or Mandarin."""
    text = partial.strip().lower()
    if text.endswith(_UNFINISHED_MARKS):
        return TextSignal.UNFINISHED
    text = text.rstrip(_TRAILING_MARKS)
    if not text:
        return TextSignal.UNKNOWN
    if _ends_unfinished_zh(text) or _ends_unfinished_en(text):
        return TextSignal.UNFINISHED
    return TextSignal.FINISHED


def _ends_unfinished_zh(text: str) -> bool:
    return text.endswith(CONTINUATION_ENDINGS_ZH) or text[-1] in _ZH_NUMERALS


def _ends_unfinished_en(text: str) -> bool:
    words = _WORD.findall(text)
    if not words or not text[-1].isascii():
        return False
    last = words[-1]
    return last in CONTINUATION_WORDS or last in NUMBER_WORDS or last[0].isdigit()
