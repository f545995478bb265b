"""Transcript clean-up shared by the intent parsers.

ASR output comes with punctuation (FunASR), fillers ("um", 嗯, 那个), full-width digits and,
from some models, traditional characters (五分鐘). The parsers see one plain form instead.
"""

from __future__ import annotations

import re
import unicodedata

# Only the traditional forms that occur in the commands this package understands.
_TRADITIONAL = str.maketrans(
    "鐘時兩個計鬧點聲調後響設幾還幫刪關開別麼靜輕說間現這頭麵餘於鈴喚醒",
    "钟时两个计闹点声调后响设几还帮删关开别么静轻说间现这头面余于铃唤醒",
)
_EN_FILLERS = re.compile(r"\b(?:um+|uh+|er+m?|hmm+|like|please|okay|ok|hey|so|just|you know)\b")
_ZH_FILLERS = re.compile(r"嗯+|呃+|额+|啊+|哦+|噢+|呀|吧|呢|嘛|那个|就是|请|麻烦你?|帮我|给我|一下")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_PUNCTUATION = re.compile(r"[^\w\s:.']|_")


def is_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


def clean(text: str, fillers: bool = True) -> str:
    """Lower case, half-width, simplified, without punctuation or filler words.

    Chinese fillers are dropped from Chinese text, English ones from the rest: the person may
    speak either, whatever the persona's language.
    """
    text = unicodedata.normalize("NFKC", text).lower().translate(_TRADITIONAL)
    text = _PUNCTUATION.sub(" ", text)
    text = re.sub(r"(?<!\d)[.:]|[.:](?!\d)", " ", text)  # keep 7:30 and 1.5, drop full stops
    if fillers:
        text = _ZH_FILLERS.sub("", text) if is_chinese(text) else _EN_FILLERS.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()
