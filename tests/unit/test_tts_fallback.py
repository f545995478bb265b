"""The fallback voice: a failing, hanging or missing main TTS never leaves a turn silent."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from daemon.audio.frames import AudioChunk
from daemon.config import EspeakSettings, Persona, TtsSettings
from daemon.errors import ErrorCode, StageError
from daemon.tts import make_synthesizer, primary_deadline
from daemon.tts.espeak import EspeakSynthesizer
from daemon.tts.fallback import FallbackSynthesizer, Unavailable
from daemon.tts.polish import PolishedSynthesizer
from tests.fixtures.fakes import PERSONA, Rig, ScriptedTts, request

DEADLINE = 0.3
LOGGER = "daemon.tts.fallback"


class RecordingEspeak(EspeakSynthesizer):
    """The real espeak-ng, remembering what it was asked to say."""

    def __init__(self) -> None:
        super().__init__(EspeakSettings(), timeout=5)
        self.texts: list[str] = []

    def synthesize(self, text: str, persona: Persona) -> Iterator[AudioChunk]:
        self.texts.append(text)
        yield from super().synthesize(text, persona)


@dataclass
class CancellablePrimary:
    """Yields one chunk, then blocks until cancelled (like ChatTTS stuck mid-sentence)."""

    name: str = "cancellable"
    cancelled: list[float] = field(default_factory=list)

    def synthesize(self, text: str, persona: Persona) -> Iterator[AudioChunk]:
        yield AudioChunk(np.full(9600, 0.1, dtype=np.float32), 16000)  # 0.6 s: polish passes it on
        started = time.monotonic()
        while not self.cancelled and time.monotonic() - started < 5:
            time.sleep(0.01)

    def cancel(self) -> None:
        self.cancelled.append(time.monotonic())


class BrokenVoice:
    name = "broken"

    def synthesize(self, text: str, persona: Persona) -> Iterator[AudioChunk]:
        raise StageError(ErrorCode.TTS_FAILED, "no voice at all")
        yield  # pragma: no cover


def speak(tts: FallbackSynthesizer | PolishedSynthesizer, text: str) -> list[AudioChunk]:
    return list(tts.synthesize(text, PERSONA))


def seconds(chunks: list[AudioChunk]) -> float:
    return sum(c.duration for c in chunks)


def warnings_from(caplog: pytest.LogCaptureFixture, level: int = logging.WARNING) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= level]


def test_primary_that_raises_is_replaced_by_espeak_saying_the_same_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary, espeak = ScriptedTts(fail_on="weather"), RecordingEspeak()
    tts = FallbackSynthesizer(primary, espeak, DEADLINE)
    chunks = speak(tts, "The weather is fine.")
    assert espeak.texts == ["The weather is fine."]
    assert chunks[0].sample_rate == 22050 and seconds(chunks) > 0.5
    assert np.abs(np.concatenate([c.samples for c in chunks])).max() > 0.05
    [warning] = warnings_from(caplog)
    assert "tts-failed" in warning and "scripted failure" in warning


def test_a_working_primary_is_used_and_espeak_is_not(caplog: pytest.LogCaptureFixture) -> None:
    primary, espeak = ScriptedTts(), RecordingEspeak()
    chunks = speak(FallbackSynthesizer(primary, espeak, DEADLINE), "hello there")
    assert primary.texts == ["hello there"] and espeak.texts == []
    assert [c.sample_rate for c in chunks] == [16000, 16000]
    assert warnings_from(caplog) == []


def test_the_failure_is_logged_once_not_per_sentence_and_recovery_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    primary, espeak = ScriptedTts(fail_on="x"), RecordingEspeak()
    tts = FallbackSynthesizer(primary, espeak, DEADLINE)
    for text in ("x one.", "x two.", "x three."):
        assert seconds(speak(tts, text)) > 0.2
    assert espeak.texts == ["x one.", "x two.", "x three."]
    assert len(warnings_from(caplog)) == 1
    speak(tts, "fine now.")
    recovered = [m for m in warnings_from(caplog, logging.INFO) if "works again (" in m]
    assert recovered == ["TTS scripted works again (3 sentences were spoken by espeak)"]
    speak(tts, "x four.")
    assert len(warnings_from(caplog)) == 2  # a new failure after recovery is news again


def test_a_hanging_primary_is_abandoned_at_its_deadline(caplog: pytest.LogCaptureFixture) -> None:
    primary, espeak = ScriptedTts(hang_on="slow"), RecordingEspeak()
    tts = FallbackSynthesizer(primary, espeak, DEADLINE)
    started = time.monotonic()
    chunks = speak(tts, "A slow sentence.")
    assert DEADLINE <= time.monotonic() - started < DEADLINE + 1.0
    assert espeak.texts == ["A slow sentence."] and seconds(chunks) > 0.5
    [warning] = warnings_from(caplog)
    assert "tts-timeout" in warning

    # Still stuck: the next sentence does not queue behind it, and is not even tried.
    started = time.monotonic()
    speak(tts, "The next one.")
    assert time.monotonic() - started < DEADLINE
    assert primary.texts == ["A slow sentence."]
    assert espeak.texts[-1] == "The next one."
    assert len(warnings_from(caplog)) == 1

    primary.release.set()  # it comes unstuck: the primary speaks again
    deadline = time.monotonic() + 5
    while tts.busy and time.monotonic() < deadline:
        time.sleep(0.01)
    assert speak(tts, "Back to normal.")[0].sample_rate == 16000
    assert primary.texts[-1] == "Back to normal."


def test_a_timed_out_primary_is_asked_to_stop_and_the_whole_sentence_is_repeated() -> None:
    primary, espeak = CancellablePrimary(), RecordingEspeak()
    tts = FallbackSynthesizer(primary, espeak, DEADLINE)
    chunks = speak(tts, "Half a sentence.")
    assert len(primary.cancelled) == 1
    assert chunks[0].sample_rate == 16000  # the part the primary made was already played
    assert {c.sample_rate for c in chunks[1:]} == {22050}
    assert espeak.texts == ["Half a sentence."]


def test_an_abandoned_sentence_stops_the_primary() -> None:
    primary = CancellablePrimary()
    tts = FallbackSynthesizer(primary, RecordingEspeak(), 5.0)
    iterator = tts.synthesize("Barge in after the first chunk.", PERSONA)
    next(iterator)
    iterator.close()  # what the turn's generator cleanup does after a barge-in or deadline
    assert len(primary.cancelled) == 1
    deadline = time.monotonic() + 2
    while tts.busy and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not tts.busy


def test_cancel_stops_the_sentence_in_progress() -> None:
    primary = CancellablePrimary()
    tts = PolishedSynthesizer(FallbackSynthesizer(primary, RecordingEspeak(), 5.0))
    iterator = tts.synthesize("A long answer the person talks over.", PERSONA)
    next(iterator)  # playing: the primary is generating the rest
    tts.cancel()  # what a barge-in would call
    assert len(primary.cancelled) == 1


def test_cancel_ends_a_call_waiting_for_the_primary_without_fallback_speech() -> None:
    primary, espeak = ScriptedTts(hang_on="wait"), RecordingEspeak()
    tts = FallbackSynthesizer(primary, espeak, 5.0)
    threading.Timer(0.2, tts.cancel).start()  # the person talks over the box
    started = time.monotonic()
    assert speak(tts, "wait for it") == []
    assert time.monotonic() - started < 1.0 and espeak.texts == []
    primary.release.set()


def test_missing_model_at_startup_is_logged_once_then_espeak_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = TtsSettings(backend="chattts", fallback="espeak")
    tts = make_synthesizer(settings, tmp_path)  # an empty models dir: no ChatTTS assets
    assert isinstance(tts, PolishedSynthesizer) and isinstance(tts.inner, FallbackSynthesizer)
    assert tts.inner.unavailable is not None
    assert tts.inner.unavailable.code is ErrorCode.MODEL_MISSING
    for text in ("First.", "Second.", "Third."):
        assert seconds(speak(tts, text)) > 0.2
    errors = [r for r in caplog.records if r.name == LOGGER]
    assert len(errors) == 1 and errors[0].levelno == logging.ERROR
    assert "model-missing" in errors[0].getMessage()
    assert "voiced models fetch chattts" in errors[0].getMessage()


def test_missing_model_without_fallback_stops_the_start(tmp_path: Path) -> None:
    from daemon.models.errors import ModelMissing

    with pytest.raises(ModelMissing, match="voiced models fetch chattts"):
        make_synthesizer(TtsSettings(backend="chattts", fallback="none"), tmp_path)


def test_when_the_fallback_fails_too_the_turn_gets_tts_failed() -> None:
    tts = FallbackSynthesizer(ScriptedTts(fail_on="x"), BrokenVoice(), DEADLINE)
    with pytest.raises(StageError) as err:
        speak(tts, "x marks the spot")
    assert err.value.code is ErrorCode.TTS_FAILED
    assert "scripted failure" in err.value.detail and "no voice at all" in err.value.detail


def test_unavailable_primary_names_its_code(caplog: pytest.LogCaptureFixture) -> None:
    reason = Unavailable(ErrorCode.TTS_FAILED, "CUDA is not available")
    tts = FallbackSynthesizer(None, RecordingEspeak(), DEADLINE, reason)
    assert seconds(speak(tts, "Still talking.")) > 0.2
    [error] = warnings_from(caplog)
    assert "tts-failed" in error and "CUDA" in error


def test_the_primary_deadline_leaves_room_inside_the_turns_deadline() -> None:
    assert primary_deadline(10.0) == pytest.approx(7.5)
    assert primary_deadline(1.0) < 1.0


@pytest.mark.parametrize("failure", ["raises", "hangs"])
def test_a_whole_turn_with_a_failing_primary_ends_ok_with_speech(failure: str) -> None:
    primary = ScriptedTts(fail_on="robot") if failure == "raises" else ScriptedTts(hang_on="robot")
    espeak = RecordingEspeak()
    rig = Rig(tts=primary)
    wrapped = PolishedSynthesizer(
        FallbackSynthesizer(primary, espeak, rig.settings.deadlines.tts_primary)
    )
    rig.tts = wrapped  # type: ignore[assignment]
    rig.run(request())
    primary.release.set()
    [turn] = rig.turns
    assert turn.outcome == "ok"
    assert turn.reply_text == ["Why did the robot cross the road?", "To recharge."]
    assert espeak.texts == ["Why did the robot cross the road?"] + (
        ["To recharge."] if failure == "hangs" else []  # still stuck: straight to espeak
    )
    assert rig.sink.seconds > 1.0
    assert {c.sample_rate for c in rig.sink.chunks} >= {22050}
