"""A leaner, quicker box: the ASR model loaded at the first request, espeak-ng started one
sentence ahead, the end earcon overlapping the last decode, and the self-trigger guard sharing
the wake detector's models."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from daemon.asr import make_transcriber
from daemon.asr.base import Transcript, TranscriptionSession
from daemon.asr.lazy import LazyTranscriber
from daemon.config import AsrSettings, ConversationSettings, Deadlines, WakeSettings
from daemon.synth.espeak import EspeakError, EspeakTimeout, WarmEspeak, espeak_command, run_espeak
from daemon.turn.recording import Utterance
from daemon.turn.reply import ReplyPipeline
from daemon.worker import Worker

# --- the ASR model at the first request ----------------------------------------------------------


@dataclass
class Counting:
    """A streaming backend that says how often it was built and what it heard."""

    name: str = "counting"
    heard: list[int] = field(default_factory=list)

    def start(self) -> TranscriptionSession:
        return _CountingSession(self)


@dataclass
class _CountingSession:
    owner: Counting
    partial: str = ""

    def feed(self, samples: np.ndarray) -> None:
        self.owner.heard.append(len(samples))
        self.partial = f"{len(self.owner.heard)} frames"

    def finish(self) -> Transcript:
        return Transcript(f"{sum(self.owner.heard)} samples", "en")


def lazy(loads: list[int], fail: bool = False) -> tuple[LazyTranscriber, Counting]:
    backend = Counting()

    def load() -> Counting:
        loads.append(1)
        if fail:
            raise RuntimeError("model file unreadable")
        return backend

    return LazyTranscriber("counting", load), backend


def test_lazy_asr_loads_at_the_first_audio_not_at_start_and_only_once() -> None:
    loads: list[int] = []
    asr, _ = lazy(loads)
    session = asr.start()
    assert loads == [] and not asr.loaded
    assert session.partial == ""  # type: ignore[attr-defined]
    session.feed(np.zeros(1280, np.int16))
    session.feed(np.zeros(1280, np.int16))
    assert session.partial == "2 frames"  # type: ignore[attr-defined]
    assert session.finish() == Transcript("2560 samples", "en")
    again = asr.start()
    again.feed(np.zeros(640, np.int16))
    assert loads == [1] and asr.loaded


def test_lazy_asr_session_without_audio_loads_nothing() -> None:
    loads: list[int] = []
    asr, _ = lazy(loads)
    assert asr.start().finish() == Transcript("")
    assert loads == []


def test_lazy_asr_load_failure_fails_that_request_and_the_next_one_tries_again() -> None:
    loads: list[int] = []
    asr, _ = lazy(loads, fail=True)
    worker = Worker("asr-test")
    try:
        utterance = Utterance(asr.start(), worker)
        utterance.feed(np.zeros(1280, np.int16)).result(timeout=5)
        with pytest.raises(RuntimeError, match="unreadable"):
            asyncio.run(utterance.finish())
        with pytest.raises(RuntimeError):
            asr.start().feed(np.zeros(1280, np.int16))
        assert loads == [1, 1] and not asr.loaded
    finally:
        worker.close()


@pytest.mark.parametrize("load", ["startup", "first-request"])
def test_asr_load_setting_picks_when_pocketsphinx_loads(load: str, models_dir: Path) -> None:
    asr = make_transcriber(AsrSettings(backend="pocketsphinx", load=load), models_dir)
    assert isinstance(asr, LazyTranscriber) == (load == "first-request")
    assert asr.name == "pocketsphinx"


def test_lazy_whisper_without_its_model_still_stops_start_up(tmp_path: Path) -> None:
    from daemon.models.errors import ModelMissing

    with pytest.raises(ModelMissing):
        make_transcriber(AsrSettings(backend="whisper", load="first-request"), tmp_path)


# --- espeak-ng started one sentence ahead --------------------------------------------------------


def test_warm_espeak_speaks_like_a_cold_start_and_keeps_the_next_process_waiting() -> None:
    cmd = espeak_command("en-us", rate=165)
    warm = WarmEspeak()
    try:
        warm.prepare(cmd)
        first = warm._spare
        samples, rate = warm.speak(cmd, "It is ten past nine.", timeout=10)
        cold, cold_rate = run_espeak("It is ten past nine.", "en-us", rate=165)
        assert rate == cold_rate and np.array_equal(samples, cold)
        assert first is not None and first.poll() is not None  # it spoke, and ended
        waiting = warm._spare
        assert waiting is not None and waiting is not first and waiting.poll() is None
    finally:
        warm.close()
    assert waiting.poll() is not None  # close() stopped the waiting process


def test_warm_espeak_replaces_a_process_started_for_another_voice() -> None:
    english, mandarin = espeak_command("en-us"), espeak_command("zh")
    warm = WarmEspeak()
    try:
        warm.prepare(english)
        stale = warm._spare
        samples, _ = warm.speak(mandarin, "你好", timeout=10)
        assert len(samples) > 0
        assert stale is not None and stale.wait(timeout=5) is not None
        assert warm._spare is not None and warm._spare.args == mandarin
    finally:
        warm.close()


def test_warm_espeak_timeout_kills_the_process_and_says_so() -> None:
    warm = WarmEspeak()
    try:
        with pytest.raises(EspeakTimeout):
            warm.speak(espeak_command("en-us"), "word " * 20000, timeout=0.01)
    finally:
        warm.close()


def test_espeak_command_refuses_an_unknown_voice_and_a_missing_program() -> None:
    with pytest.raises(EspeakError, match="no voice"):
        espeak_command("xx-nonexistent")
    with pytest.raises(EspeakError, match="not found"):
        espeak_command("en-us", executable="espeak-ng-that-is-not-there")


# --- the end earcon while the ASR finishes -------------------------------------------------------


@dataclass
class Events:
    seen: list[str] = field(default_factory=list)
    earcon_may_end: asyncio.Event = field(default_factory=asyncio.Event)


class EarconSpeaker:
    def __init__(self, events: Events) -> None:
        self.events = events

    async def play(self, chunk: object) -> None:
        self.events.seen.append("earcon starts")
        await self.events.earcon_may_end.wait()
        self.events.seen.append("earcon ends")


class FinishingUtterance:
    def __init__(self, events: Events, fail: bool = False) -> None:
        self.events, self.fail = events, fail

    async def finish(self) -> Transcript:
        self.events.seen.append("asr finishes")
        self.events.earcon_may_end.set()
        if self.fail:
            raise RuntimeError("decoder crashed")
        return Transcript("what time is it", "en")


def pipeline(events: Events) -> ReplyPipeline:
    import contextlib

    from daemon.config import Persona

    return ReplyPipeline(
        responder=None,  # type: ignore[arg-type]
        speaker=EarconSpeaker(events),  # type: ignore[arg-type]
        tts=None,  # type: ignore[arg-type]
        deadlines=Deadlines(),
        persona=lambda: Persona(),
        hold=contextlib.nullcontext,
        end_earcon=True,
    )


def test_the_asr_finishes_while_the_end_earcon_plays() -> None:
    events = Events()

    async def go() -> Transcript:
        return await pipeline(events)._transcript_over_earcon(FinishingUtterance(events))  # type: ignore[arg-type]

    assert asyncio.run(go()).text == "what time is it"
    # Not one after the other: the decode was asked for before the earcon had ended.
    assert sorted(events.seen) == ["asr finishes", "earcon ends", "earcon starts"]
    assert events.seen.index("asr finishes") < events.seen.index("earcon ends")


def test_a_failed_transcript_still_lets_the_earcon_end_first() -> None:
    from daemon.errors import StageError

    events = Events()

    async def go() -> None:
        utterance = FinishingUtterance(events, fail=True)
        await pipeline(events)._transcript_over_earcon(utterance)  # type: ignore[arg-type]

    with pytest.raises(StageError):
        asyncio.run(go())
    assert events.seen[-1] == "earcon ends"


# --- the guard's detector shares the wake models -------------------------------------------------


@pytest.mark.slow  # real wake models
def test_guard_detector_shares_the_models_and_scores_like_its_own_detector(
    audio: object, models_dir: Path
) -> None:
    from daemon.audio.frames import FRAME_SAMPLES
    from daemon.service import REFERENCE_THRESHOLD, make_guard
    from daemon.wake import make_wake_detector
    from tests.fixtures.audio import AudioBuilder, read

    assert isinstance(audio, AudioBuilder)
    wake = WakeSettings(confirm_frames=2)  # streaming state beyond the features: not shared
    main = make_wake_detector(wake, models_dir)
    guard = make_guard(ConversationSettings(), wake, models_dir, False, main)
    assert guard is not None
    reference = guard._reference
    assert reference._features.models is main._features.models  # type: ignore[attr-defined]
    assert reference.threshold == REFERENCE_THRESHOLD  # type: ignore[attr-defined]
    alone = make_wake_detector(wake.model_copy(update={"threshold": 0.1}), models_dir)
    clip = read(audio.concat(audio.silence(1.0), audio.speech("hey jarvis"), audio.silence(1.0)))
    frames = [clip[i : i + FRAME_SAMPLES] for i in range(0, len(clip) - FRAME_SAMPLES + 1, 1280)]
    # The guard's detector and the microphone's take turns on the same models, as on the
    # listener thread; each scores as a detector with models of its own does.
    shared, mic, own = [], [], []
    for frame in frames:
        shared.append(_score(reference, frame))
        mic.append(_score(main, frame))
        own.append(_score(alone, frame))
    np.testing.assert_allclose(shared, own, atol=1e-6)
    np.testing.assert_allclose(mic, own, atol=1e-6)
    assert max(shared) > 0.5


def _score(detector: object, frame: np.ndarray) -> float:
    return float(detector.scores(frame).get("hey_jarvis_v0.1", 0.0))  # type: ignore[attr-defined]


# --- what the listening process imports ----------------------------------------------------------

HEAVY = ("torch", "scipy", "sklearn", "openwakeword", "openai", "transformers", "funasr")
# Both profiles' wake classifiers are ONNX (hey_jarvis: the copy made at fetch), so LiteRT stays
# out (-11 MB), and so does the onnx package that wrote the copy.
HEAVY += ("ai_edge_litert", "onnx")
_LISTENING_IMPORTS = """
import sys
from pathlib import Path
from daemon.audio.base import NullSink
from daemon.cli import find_profiles
from daemon.config import load_settings
from daemon.service import build_stages
config = Path("config/voiced.yaml")
build_stages(load_settings(config, find_profiles(config, [sys.argv[1]])), NullSink())
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


@pytest.mark.slow  # loads every model of the profile
@pytest.mark.parametrize("profile", ["zero-download", "zero-download-zh"])
def test_the_listening_daemon_imports_no_heavy_library(profile: str, models_dir: Path) -> None:
    """A memory regression guard without a number: torch (~300 MB), scipy and scikit-learn
    (openWakeWord's imports), LiteRT and the OpenAI SDK (no LLM configured) stay out of the
    zero-download box's process."""
    import subprocess
    import sys

    from tests.conftest import REPO

    done = subprocess.run(
        [sys.executable, "-c", _LISTENING_IMPORTS, profile],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    imported = set(done.stdout.split())
    assert "onnxruntime" in imported  # the check sees the real process
    assert sorted(imported & set(HEAVY)) == []
