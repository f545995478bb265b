"""Pieces of `voiced wyoming` that need no server: the frame reader (any bytes in: an event,
the end, or BadFrame, never another exception), settled partial text, voices, wake phrases."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wyoming.tts import SynthesizeVoice

from daemon.config import Persona, Voice
from daemon.wyoming.asr import settled
from daemon.wyoming.engines import wake_phrase
from daemon.wyoming.framing import BadFrame, read_event
from daemon.wyoming.info import persona_for_voice

LIMIT = 4096
EN = Persona(name="Jarvis", language="en", system_prompt="x", voice=Voice(espeak="en-us+klatt"))


def read_all(data: bytes) -> list[object]:
    """Every outcome of reading `data` to its end: events, then None or the BadFrame."""

    async def go() -> list[object]:
        reader = asyncio.StreamReader(limit=LIMIT)
        reader.feed_data(data)
        reader.feed_eof()
        outcomes: list[object] = []
        while True:
            try:
                event = await read_event(reader, LIMIT)
            except BadFrame as bad:
                return [*outcomes, bad]
            outcomes.append(event)
            if event is None:
                return outcomes

    return asyncio.run(go())


def frame(header: dict, data: bytes = b"", payload: bytes = b"") -> bytes:
    return json.dumps(header).encode() + b"\n" + data + payload


def test_inline_and_separate_data_are_merged() -> None:
    data = json.dumps({"text": "hi"}).encode()
    header = {"type": "synthesize", "data": {"a": 1}, "data_length": len(data), "version": "1"}
    event = read_all(frame({**header, "payload_length": 3}, data, b"abc"))[0]
    assert event.type == "synthesize" and event.data == {"a": 1, "text": "hi"}  # type: ignore[attr-defined]
    assert event.payload == b"abc"  # type: ignore[attr-defined]


def test_an_event_over_the_limit_is_refused_before_its_body_is_read() -> None:
    outcome = read_all(frame({"type": "audio-chunk", "payload_length": LIMIT}))
    assert isinstance(outcome[0], BadFrame) and "over" in str(outcome[0])


@settings(max_examples=120, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_give_events_an_end_or_bad_frame(data: bytes) -> None:
    outcomes = read_all(data)
    assert outcomes[-1] is None or isinstance(outcomes[-1], BadFrame)


headers = st.dictionaries(
    st.sampled_from(["type", "data", "data_length", "payload_length", "version"]),
    st.one_of(st.none(), st.integers(-5, 50), st.text(max_size=5), st.lists(st.integers())),
)


@settings(max_examples=120, deadline=None)
@given(headers, st.binary(max_size=60))
def test_any_json_header_gives_an_event_an_end_or_bad_frame(header: dict, rest: bytes) -> None:
    outcomes = read_all(json.dumps(header).encode() + b"\n" + rest)
    assert outcomes[-1] is None or isinstance(outcomes[-1], BadFrame)


@pytest.mark.parametrize(
    ("partial", "stable"),
    [("", ""), ("what", "wha"), ("what to", "what "), ("what time is it", "what time is "),
     ("你好世", "你好")],
)  # fmt: skip
def test_the_last_word_of_a_hypothesis_waits(partial: str, stable: str) -> None:
    assert settled(partial) == stable


@pytest.mark.parametrize(
    ("model", "phrase"),
    [("hey_jarvis_v0.1", "hey jarvis"), ("ok_nabu", "ok nabu"), ("你好小智", "你好小智")],
)
def test_wake_phrases(model: str, phrase: str) -> None:
    assert wake_phrase(model) == phrase


@pytest.mark.parametrize(
    ("voice", "backend", "language", "espeak"),
    [
        (None, "espeak", "en", "en-us+klatt"),
        (SynthesizeVoice(name="en-us+klatt"), "espeak", "en", "en-us+klatt"),
        (SynthesizeVoice(name="cmn-latn-pinyin"), "espeak", "zh", "cmn-latn-pinyin"),
        (SynthesizeVoice(language="zh-CN"), "espeak", "zh", "cmn-latn-pinyin"),
        (SynthesizeVoice(language="zh_Hans"), "espeak", "zh", "cmn-latn-pinyin"),
        (SynthesizeVoice(language="en-GB"), "espeak", "en", "en-us+klatt"),
        (SynthesizeVoice(language="fr"), "espeak", "en", "en-us+klatt"),
        (SynthesizeVoice(name="no-such-voice"), "espeak", "en", "en-us+klatt"),
        (SynthesizeVoice(language="zh"), "chattts", "zh", "cmn-latn-pinyin"),  # its fallback
        (SynthesizeVoice(name="Jarvis"), "chattts", "en", "en-us+klatt"),
    ],
)
def test_a_requested_voice_becomes_the_persona(
    voice: SynthesizeVoice | None, backend: str, language: str, espeak: str
) -> None:
    persona = persona_for_voice(EN, voice, backend)
    assert (persona.language, persona.voice.espeak) == (language, espeak)


def test_zeroconf_without_its_extra_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from daemon.errors import ConfigError
    from daemon.wyoming.server import advertise

    monkeypatch.setitem(sys.modules, "wyoming.zeroconf", None)  # as if the extra is missing
    with pytest.raises(ConfigError, match="wyoming.zeroconf"):
        asyncio.run(advertise("voiced", 10300, "127.0.0.1"))
