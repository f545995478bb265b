"""The Whisper session's partial transcript, as the endpointer reads it: a stretch Whisper
decoded unsurely, and one still being decoded, end in the unsure mark (never read as a finished
request); the final transcript keeps the words as decoded. A scripted decoder, no model."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from daemon.asr.base import UNSURE_MARK
from daemon.asr.whisper import PARTIAL_MIN_LOGPROB, Decoded, _Session, partial_of
from daemon.audio.frames import SAMPLE_RATE
from daemon.config import WhisperSettings
from daemon.vad.wording import TextSignal, text_signal


@dataclass
class ScriptedDecoder:
    """Says `said[i]` for the i-th stretch; remembers the session's partial while decoding."""

    said: list[Decoded]
    session: _Session | None = None
    partial_while_decoding: list[str] = field(default_factory=list)

    def decode(self, audio: np.ndarray, prompt: str) -> Decoded:
        assert self.session is not None
        self.partial_while_decoding.append(self.session.partial)
        return self.said[len(self.partial_while_decoding) - 1]


def speech_then_pause(seconds: float = 1.0, pause: float = 0.6) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = (8000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
    quiet = np.zeros(int(pause * SAMPLE_RATE), dtype=np.int16)
    return np.concatenate([quiet, tone, quiet])


def session_saying(*said: Decoded) -> tuple[_Session, ScriptedDecoder]:
    decoder = ScriptedDecoder(list(said))
    session = _Session(decoder, "", WhisperSettings(), [])  # type: ignore[arg-type]
    decoder.session = session
    return session, decoder


@pytest.mark.parametrize("logprob", [-0.2, PARTIAL_MIN_LOGPROB["en"] - 0.5])
def test_an_unfinished_stretch_stays_unfinished_however_sure(logprob: float) -> None:
    partial = partial_of(["set a timer for"], Decoded("set a timer for", "en", logprob))
    assert text_signal(partial) is TextSignal.UNFINISHED


def test_a_sure_stretch_is_the_partial_as_decoded() -> None:
    session, _ = session_saying(Decoded("What time is it?", "en", -0.2))
    session.feed(speech_then_pause())
    assert session.partial == "What time is it?"
    assert text_signal(session.partial) is TextSignal.FINISHED


def test_an_unsure_stretch_is_marked_and_the_transcript_keeps_its_words() -> None:
    session, _ = session_saying(Decoded("番我。", "zh", PARTIAL_MIN_LOGPROB["zh"] - 0.4))
    session.feed(speech_then_pause())
    assert session.partial == "番我。" + UNSURE_MARK
    assert text_signal(session.partial) is TextSignal.UNFINISHED
    assert session.finish().text == "番我。"


@pytest.mark.parametrize(("language", "logprob"), [("zh", -0.7), ("en", -0.1), (None, -0.5)])
def test_a_sure_enough_stretch_is_not_marked(language: str | None, logprob: float) -> None:
    assert partial_of(["好"], Decoded("好", language, logprob)) == "好"


def test_a_stretch_being_decoded_reads_unsure_until_its_words_come() -> None:
    session, decoder = session_saying(
        Decoded("set a timer for", "en", -0.3), Decoded("five minutes", "en", -0.2)
    )
    audio = speech_then_pause()
    session.feed(audio)
    session.feed(audio)
    assert decoder.partial_while_decoding == [UNSURE_MARK, "set a timer for" + UNSURE_MARK]
    assert session.partial == "set a timer for five minutes"


def test_a_stretch_of_no_words_leaves_the_earlier_text_unmarked() -> None:
    session, _ = session_saying(Decoded("what time is it", "en", -0.2), Decoded("", "en", -2.0))
    audio = speech_then_pause()
    session.feed(audio)
    session.feed(audio)
    assert session.partial == "what time is it"


# --- the early decode: at 0.15 s into a pause, kept only if the pause ends the stretch ---------

FRAME = 1280  # the daemon's 80 ms frames


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (8000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.int16)


@dataclass
class CountingDecoder:
    """Answers every stretch with its length in seconds; records when (audio fed) each came."""

    session: _Session | None = None
    calls: list[tuple[float, float]] = field(default_factory=list)  # (fed s, stretch s)
    partial_while_decoding: list[str] = field(default_factory=list)

    def decode(self, audio: np.ndarray, prompt: str) -> Decoded:
        assert self.session is not None
        fed = self.session._fed / SAMPLE_RATE
        self.calls.append((fed, len(audio) / SAMPLE_RATE))
        self.partial_while_decoding.append(self.session.partial)
        return Decoded(f"{len(audio) / SAMPLE_RATE:.2f}s.", "en", -0.1)


def counting_session() -> tuple[_Session, CountingDecoder]:
    decoder = CountingDecoder()
    session = _Session(decoder, "", WhisperSettings(), [])  # type: ignore[arg-type]
    decoder.session = session
    return session, decoder


def feed_frames(session: _Session, audio: np.ndarray) -> list[str]:
    """Feeds 80 ms frames; the partial after each."""
    partials = []
    for start in range(0, len(audio), FRAME):
        session.feed(audio[start : start + FRAME])
        partials.append(session.partial)
    return partials


def test_a_stretch_is_decoded_once_early_in_its_pause_and_that_text_stands() -> None:
    session, decoder = counting_session()
    partials = feed_frames(session, np.concatenate([quiet(0.4), tone(1.0), quiet(0.8)]))
    assert len(decoder.calls) == 1
    fed, _ = decoder.calls[0]
    assert 1.4 + 0.15 <= fed < 1.4 + 0.3  # decoded before the pause could end the stretch
    assert decoder.partial_while_decoding == [UNSURE_MARK]  # (a slow decode reads unsure)
    # Its words stand once the pause is long enough to end the stretch, not before.
    shown = (partials.index(partials[-1]) + 1) * FRAME / SAMPLE_RATE
    assert partials[-1] and 1.4 + 0.3 <= shown < 1.4 + 0.3 + 0.08
    assert set(partials[: partials.index(partials[-1])]) == {""}
    assert session.finish().text == partials[-1]
    assert len(decoder.calls) == 1  # nothing left at the endpoint


def test_a_short_gap_throws_the_early_decode_away_and_keeps_the_stretch_whole() -> None:
    session, decoder = counting_session()
    gap = [quiet(0.4), tone(1.0), quiet(0.24), tone(0.8), quiet(0.8)]
    feed_frames(session, np.concatenate(gap))
    assert len(decoder.calls) == 2  # early in the gap (thrown away), early in the last pause
    assert decoder.calls[0][1] < 1.8 < decoder.calls[1][1]  # the second heard the whole stretch
    assert session.finish().text == f"{decoder.calls[1][1]:.2f}s."
    assert len(decoder.calls) == 2


def test_an_endpoint_inside_the_pause_takes_the_early_decode() -> None:
    session, decoder = counting_session()
    feed_frames(session, np.concatenate([quiet(0.4), tone(1.0), quiet(0.24)]))
    assert len(decoder.calls) == 1 and session.partial == ""  # not ended by the pause yet
    assert session.finish().text.endswith("s.")
    assert len(decoder.calls) == 1


def test_speech_after_the_early_decode_is_decoded_at_the_endpoint() -> None:
    session, decoder = counting_session()
    feed_frames(session, np.concatenate([quiet(0.4), tone(1.0), quiet(0.2), tone(0.5)]))
    session.finish()
    assert len(decoder.calls) == 2 and decoder.calls[1][1] >= decoder.calls[0][1] + 0.5
