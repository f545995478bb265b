"""Whisper's tokenizer in ~1 MB instead of 11 MB.

faster-whisper keeps a HuggingFace `tokenizers.Tokenizer` (tokenizer.json: 50k-entry vocabulary
and 50k merges, ~11 MB of RSS) for the life of the model. Decoding needs far less: each token's
bytes, joined and read as UTF-8. Encoding is needed only for the prompt (the persona's name and
a sentence), which changes when the persona does. So `SlimTokenizer` keeps the token bytes in one
blob, the special tokens' ids, and the ids of texts it has encoded; a new text loads the real
tokenizer for that one call and lets it go. It answers the calls faster-whisper's `Tokenizer`
makes (token_to_id, encode(...).ids, decode), so that wrapper works on it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SlimTokenizer"]


@cache
def _byte_of_char() -> dict[str, int]:
    """GPT-2's byte-level alphabet reversed: the printable character that stands for each byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


@dataclass(frozen=True)
class Encoding:
    ids: list[int]


class SlimTokenizer:
    """The parts of `tokenizers.Tokenizer` that faster-whisper's Tokenizer calls."""

    def __init__(self, hf_tokenizer: Any, tokenizer_file: Path) -> None:
        vocabulary: dict[str, int] = hf_tokenizer.get_vocab(with_added_tokens=False)
        added = hf_tokenizer.get_added_tokens_decoder()  # id -> AddedToken
        self._specials = {token.content: int(index) for index, token in added.items()}
        self._special_ids = frozenset(self._specials.values())
        self._blob, self._offsets = _token_bytes(vocabulary)
        self._file = tokenizer_file
        self._encoded: dict[str, list[int]] = {}

    def token_to_id(self, token: str) -> int | None:
        return self._specials.get(token)

    def encode(self, text: str, add_special_tokens: bool = False) -> Encoding:
        """The ids of `text` (no special tokens): remembered, so only a new text costs a load."""
        if add_special_tokens:
            raise ValueError("SlimTokenizer encodes plain text only")
        if text not in self._encoded:
            from tokenizers import Tokenizer

            real = Tokenizer.from_file(str(self._file))
            self._encoded[text] = real.encode(text, add_special_tokens=False).ids
        return Encoding(list(self._encoded[text]))

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        """Byte-level decoding, as the real tokenizer's ByteLevel decoder does; special tokens
        are skipped, as it skips them by default (faster-whisper never asks otherwise)."""
        if not skip_special_tokens:
            raise ValueError("SlimTokenizer never writes special tokens as text")
        blob, offsets, special = self._blob, self._offsets, self._special_ids
        end = len(offsets) - 1
        pieces = [
            blob[offsets[i] : offsets[i + 1]] for i in ids if 0 <= i < end and i not in special
        ]
        return b"".join(pieces).decode("utf-8", errors="replace")


def _token_bytes(vocabulary: dict[str, int]) -> tuple[bytes, np.ndarray]:
    """Every token's bytes in id order in one blob, and where each starts (and the last ends)."""
    byte_of = _byte_of_char()
    by_id = sorted(vocabulary.items(), key=lambda item: item[1])
    if [index for _, index in by_id] != list(range(len(by_id))):
        raise ValueError("Whisper's vocabulary ids are not 0..n-1")
    pieces = [bytes(byte_of[ch] for ch in token) for token, _ in by_id]
    offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(piece) for piece in pieces])
    return b"".join(pieces), offsets
