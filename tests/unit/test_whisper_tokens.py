"""The slim Whisper tokenizer reads and writes exactly what the real one does.

It replaces faster-whisper's 11 MB HuggingFace tokenizer for the life of the model (scripts/bench
memory), so any difference would change every transcript: checked against the real tokenizer of
the packaged Whisper base on random token runs (including broken UTF-8 across tokens), real
sentences in both scripts, and the special tokens the decoder asks for.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.asr.whisper_tokens import SlimTokenizer
from daemon.models.whisper import model_dir

tokenizers = pytest.importorskip("tokenizers")
SPECIALS = [
    "<|startoftranscript|>", "<|endoftext|>", "<|startofprev|>", "<|notimestamps|>",
    "<|transcribe|>", "<|translate|>", "<|zh|>", "<|en|>", "<|yue|>", "<|nocaptions|>",
    "<|nospeech|>", "<|0.00|>", "not a token",
]  # fmt: skip
SENTENCES = [
    " 小智 以下是普通话的句子。",
    " 現在幾點了？",
    " Hey Jarvis, what's the weather like in Zürich? It's 3:00 AM.",
    " 帮我设一个五分钟的定时器",
    "",
]


@pytest.fixture(scope="module")
def pair(models_dir: Path) -> tuple[object, SlimTokenizer]:
    path = model_dir(models_dir, "base") / "tokenizer.json"
    real = tokenizers.Tokenizer.from_file(str(path))
    return real, SlimTokenizer(real, path)


@pytest.mark.parametrize("token", SPECIALS)
def test_special_tokens_have_the_real_ids(pair: tuple[object, SlimTokenizer], token: str) -> None:
    real, slim = pair
    assert slim.token_to_id(token) == real.token_to_id(token)  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", SENTENCES)
def test_sentences_encode_and_decode_as_the_real_tokenizer_does(
    pair: tuple[object, SlimTokenizer], text: str
) -> None:
    real, slim = pair
    ids = real.encode(text, add_special_tokens=False).ids  # type: ignore[attr-defined]
    assert slim.encode(text).ids == ids
    assert slim.encode(text).ids == ids  # the second time from memory
    assert slim.decode(ids) == real.decode(ids)  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(ids=st.lists(st.integers(min_value=0, max_value=51864), max_size=16))
def test_any_token_run_decodes_as_the_real_tokenizer_does(
    pair: tuple[object, SlimTokenizer], ids: list[int]
) -> None:
    real, slim = pair
    assert slim.decode(ids) == real.decode(ids)  # type: ignore[attr-defined]


def test_faster_whisper_tokenizer_works_on_it(pair: tuple[object, SlimTokenizer]) -> None:
    from faster_whisper.tokenizer import Tokenizer

    real, slim = pair
    mine = Tokenizer(slim, True, task="transcribe", language="zh")  # type: ignore[arg-type]
    theirs = Tokenizer(real, True, task="transcribe", language="zh")  # type: ignore[arg-type]
    assert mine.sot_sequence == theirs.sot_sequence
    assert (mine.sot_prev, mine.eot, mine.no_timestamps) == (
        theirs.sot_prev,
        theirs.eot,
        theirs.no_timestamps,
    )
    ids = theirs.encode(" 你好小智")
    assert mine.decode([*ids, theirs.eot]) == theirs.decode([*ids, theirs.eot])


def test_it_refuses_what_it_cannot_do(pair: tuple[object, SlimTokenizer]) -> None:
    _, slim = pair
    with pytest.raises(ValueError):
        slim.encode("x", add_special_tokens=True)
    with pytest.raises(ValueError):
        slim.decode([1], skip_special_tokens=False)
