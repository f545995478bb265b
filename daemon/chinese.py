"""Traditional -> simplified Chinese (OpenCC t2s), one converter for the whole process.

Whisper often writes traditional characters, and a person may type either script into a persona;
transcripts, intents and scores all compare in simplified characters.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache


@lru_cache(maxsize=1)
def _converter() -> Callable[[str], str]:
    import opencc

    convert: Callable[[str], str] = opencc.OpenCC("t2s").convert
    return convert


def to_simplified(text: str) -> str:
    """`text` with traditional characters simplified; everything else unchanged."""
    return _converter()(text)
