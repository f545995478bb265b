"""The real wake word and VAD models on synthesized speech: positives, negatives, noise."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from daemon.audio.frames import FRAME_SAMPLES, SAMPLE_RATE, AudioFrame, Reframer
from daemon.config import EndpointSettings, VadSettings, WakeSettings
from daemon.errors import ConfigError
from daemon.models.errors import ModelMissing
from daemon.turn.recording import Recording
from daemon.vad import make_vad
from daemon.vad.endpoint import Decision
from daemon.wake import make_wake_detector
from tests.fixtures.audio import LONG_TEXT, AudioBuilder, duration, read, speech_end

pytestmark = pytest.mark.slow
WAKE_VOICES = ["en-us+klatt", "en-us", "en-gb", "en-us+m3", "en-us+f2", "en-gb-x-rp"]


def detections(wav: Path, models_dir: Path, model: str = "hey_jarvis") -> list[float]:
    """Audio times (frame ends) at which the detector fired, honouring a 2 s refractory time."""
    detector = make_wake_detector(WakeSettings(model=model), models_dir)
    hits: list[float] = []
    for frame in Reframer(FRAME_SAMPLES).push(read(wav)):
        if detector.process(frame.samples) and (not hits or frame.end - hits[-1] >= 2.0):
            hits.append(frame.end)
            detector.reset()
    return hits


@pytest.mark.parametrize("voice", WAKE_VOICES)
def test_wake_phrase_is_detected_soon_after_it_ends(
    audio: AudioBuilder, models_dir: Path, voice: str
) -> None:
    phrase = audio.speech("hey jarvis", voice)
    clip = audio.concat(audio.silence(1.0), phrase, audio.silence(1.5))
    [hit] = detections(clip, models_dir)
    phrase_end = 1.0 + speech_end(phrase)
    assert phrase_end - 0.3 <= hit <= phrase_end + 0.5


def test_wake_phrase_in_white_noise(audio: AudioBuilder, models_dir: Path) -> None:
    clip = audio.concat(audio.silence(1.0), audio.speech("hey jarvis", "en-us"), audio.silence(1))
    assert len(detections(audio.with_noise(clip, snr_db=10), models_dir)) == 1


def test_no_wake_on_a_minute_of_other_speech(audio: AudioBuilder, models_dir: Path) -> None:
    parts = [audio.speech(LONG_TEXT, voice) for voice in ("en-us", "en-gb", "en-us+klatt")]
    clip = audio.concat(*parts)
    assert duration(clip) > 60
    assert detections(clip, models_dir) == []


def test_other_pretrained_model_and_a_custom_model_file(
    audio: AudioBuilder, models_dir: Path, tmp_path: Path
) -> None:
    clip = audio.concat(audio.silence(1.0), audio.speech("alexa", "en-us"), audio.silence(1.5))
    assert len(detections(clip, models_dir, "alexa")) == 1
    assert detections(clip, models_dir, "hey_jarvis") == []
    custom = tmp_path / "my_alexa.tflite"
    shutil.copy(models_dir / "openwakeword" / "alexa_v0.1.tflite", custom)
    assert len(detections(clip, models_dir, str(custom))) == 1


def test_missing_models_name_the_path_and_the_fetch_command(
    models_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(ModelMissing, match="voiced models fetch") as err:
        make_wake_detector(WakeSettings(), tmp_path)
    assert str(tmp_path) in str(err.value)
    onnx = tmp_path / "custom.onnx"  # an ONNX wake model runs on the tflite feature models
    onnx.write_bytes(b"not really a model")
    with pytest.raises(ConfigError, match="not an openWakeWord wake model"):
        make_wake_detector(WakeSettings(model=str(onnx)), models_dir)
    with pytest.raises(ModelMissing, match="Silero"):
        make_vad(VadSettings(), tmp_path)


def endpoint_time(wav: Path, models_dir: Path) -> tuple[Decision, float]:
    """Feed a whole clip as a recording; the audio time at which the endpointer decided."""
    recording = Recording(make_vad(VadSettings(), models_dir), EndpointSettings(), 0.5)
    for frame in Reframer(FRAME_SAMPLES).push(read(wav)):
        decision = recording.feed(AudioFrame(frame.samples, frame.start))
        if decision is not Decision.CONTINUE:
            return decision, frame.end
    return Decision.CONTINUE, len(read(wav)) / SAMPLE_RATE


@pytest.mark.parametrize("snr_db", [None, 10])
def test_recording_ends_just_after_the_speech_ends(
    audio: AudioBuilder, models_dir: Path, snr_db: float | None
) -> None:
    command = audio.speech("what is the weather like tomorrow")
    clip = audio.concat(audio.silence(0.3), command, audio.silence(3))
    if snr_db is not None:
        clip = audio.with_noise(clip, snr_db)
    decision, at = endpoint_time(clip, models_dir)
    spoken_until = 0.3 + speech_end(command)
    assert decision is Decision.END_OF_SPEECH
    hangover = EndpointSettings().silence_seconds
    assert spoken_until + hangover - 0.1 <= at <= spoken_until + hangover + 0.25


def test_silence_gives_no_speech_at_the_timeout(audio: AudioBuilder, models_dir: Path) -> None:
    decision, at = endpoint_time(audio.silence(8), models_dir)
    assert decision is Decision.NO_SPEECH
    assert abs(at - EndpointSettings().no_speech_timeout_seconds) < 0.1


def test_vad_probability_separates_speech_and_silence(
    audio: AudioBuilder, models_dir: Path
) -> None:
    vad = make_vad(VadSettings(), models_dir)
    speech = read(audio.speech("the quick brown fox jumps over the lazy dog"))
    probs = [vad.probability(speech[i : i + 512]) for i in range(0, len(speech) - 511, 512)]
    vad.reset()
    quiet = [vad.probability(np.zeros(512, dtype=np.int16)) for _ in range(30)]
    assert np.mean(np.asarray(probs) > 0.5) > 0.6
    assert max(quiet) < 0.1
