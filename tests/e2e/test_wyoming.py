"""`voiced wyoming` with the zero-download models (Whisper base, espeak-ng, openWakeWord), on
127.0.0.1, driven by the wyoming package's own client as Home Assistant drives it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from wyoming.asr import Transcribe, Transcript
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeVoice,
)
from wyoming.wake import Detect

from daemon.audio.frames import int16_to_float, resample
from daemon.audio.wavfile import read_wav_16k
from daemon.cli import main as voiced
from daemon.config import Settings, load_settings
from daemon.wyoming.engines import load_engines
from tests.conftest import CONFIG
from tests.fixtures.audio import PLAIN_VOICE, AudioBuilder
from tests.fixtures.scoring import words
from tests.fixtures.wyoming import ServerThread, audio_events, client, pcm_of, read_until, run

pytestmark = pytest.mark.slow
PROFILE = CONFIG.parent / "profiles" / "zero-download.yaml"
SAY_ARGS = ("--config", str(CONFIG), "--profile", str(PROFILE))


@pytest.fixture(scope="module")
def settings(models_dir: Path) -> Settings:
    return load_settings(CONFIG, [PROFILE])


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[ServerThread]:
    with ServerThread(load_engines(settings, ["asr", "tts", "wake"])) as served:
        yield served


def is_type(kind: str):  # noqa: ANN201 - a predicate for read_until
    return lambda event: event.type == kind


async def ask(port: int, events: list[Event], last: str) -> list[Event]:
    async with client(port) as conn:
        for event in events:
            await conn.write_event(event)
        return await read_until(conn, is_type(last))


def test_describe_lists_every_service_with_languages(server: ServerThread) -> None:
    events = run(ask(server.port, [Describe().event()], "info"))
    info = Info.from_event(events[-1])
    assert [p.models[0].name for p in info.asr] == ["whisper"]
    assert info.asr[0].models[0].languages == ["en"]  # the persona's language, given to Whisper
    # Whisper decodes whole stretches, not word by word: no transcript chunks are promised
    # (a streaming recognizer's chunks: test_wyoming_models).
    assert not info.asr[0].supports_transcript_streaming
    voices = {voice.name: voice.languages for voice in info.tts[0].voices}
    assert voices["cmn-latn-pinyin"] == ["zh"] and voices["en-us"] == ["en"]
    assert info.tts[0].voices[0].name == "en-us+klatt"  # the persona's voice comes first
    assert info.tts[0].supports_synthesize_streaming
    assert info.wake[0].models[0].name == "hey_jarvis_v0.1"
    assert info.wake[0].models[0].phrase == "hey jarvis"


def test_a_spoken_wav_is_transcribed_as_in_process(
    server: ServerThread, settings: Settings, audio: AudioBuilder, capsys: pytest.CaptureFixture
) -> None:
    wav = audio.speech("what time is it", PLAIN_VOICE)
    request = [Transcribe(language="en").event(), *audio_events(read_wav_16k(wav))]
    events = run(ask(server.port, request, "transcript"))
    assert [e.type for e in events] == ["transcript"]
    text = Transcript.from_event(events[-1]).text
    assert voiced(["transcribe", *SAY_ARGS, str(wav)]) == 0
    assert text == capsys.readouterr().out.strip()
    assert words(text) == ["what", "time", "is", "it"], text


def test_audio_at_another_rate_is_converted(server: ServerThread, audio: AudioBuilder) -> None:
    samples = read_wav_16k(audio.speech("what time is it", PLAIN_VOICE))
    at_22k = (resample(int16_to_float(samples), 16000, 22050) * 32767).astype(np.int16)
    request = [Transcribe().event(), *audio_events(at_22k, rate=22050)]
    events = run(ask(server.port, request, "transcript"))
    assert words(Transcript.from_event(events[-1]).text) == ["what", "time", "is", "it"]


def say(text: str, folder: Path) -> np.ndarray:
    """What `voiced say` writes, as float samples at its rate (16 kHz)."""
    out = folder / "say.wav"
    assert voiced(["say", *SAY_ARGS, text, "--output", str(out)]) == 0
    samples, rate = sf.read(str(out), dtype="float32")
    assert rate == 16000
    return np.asarray(samples)


def same_speech(wire: list[Event], said: np.ndarray) -> None:
    start = next(e for e in wire if e.type == "audio-start")
    heard = resample(int16_to_float(pcm_of(wire)), start.data["rate"], 16000)
    assert abs(len(heard) - len(said)) <= 2
    n = min(len(heard), len(said))
    assert np.max(np.abs(heard[:n] - said[:n])) < 2e-3  # one 16-bit step, resampled
    assert np.sqrt(np.mean(said**2)) > 0.01  # and it is speech, not silence


def test_synthesis_is_what_voiced_say_speaks(server: ServerThread, tmp_path: Path) -> None:
    events = run(ask(server.port, [Synthesize(text="Hello there.").event()], "audio-stop"))
    assert events[0].type == "audio-start" and events[0].data["rate"] == 22050
    same_speech(events, say("Hello there.", tmp_path))


def test_streamed_synthesis_speaks_each_sentence_as_it_completes(
    server: ServerThread, tmp_path: Path
) -> None:
    voice = SynthesizeVoice(name="en-us+klatt")  # the persona's own voice, as `say` uses
    request = [
        SynthesizeStart(voice=voice).event(),
        SynthesizeChunk("Hello there. How are").event(),
        SynthesizeChunk(" you today?").event(),
        Synthesize(text="Hello there. How are you today?", voice=voice).event(),  # compat copy
        SynthesizeStop().event(),
    ]
    events = run(ask(server.port, request, "synthesize-stopped"))
    kinds = [e.type for e in events if e.type != "audio-chunk"]
    assert kinds == ["audio-start", "audio-stop"] * 2 + ["synthesize-stopped"]
    stop = next(i for i, e in enumerate(events) if e.type == "audio-stop")
    same_speech(events[: stop + 1], say("Hello there.", tmp_path))
    same_speech(events[stop + 1 :], say("How are you today?", tmp_path))


def test_a_chinese_voice_is_chosen_by_language(server: ServerThread) -> None:
    mandarin = Synthesize(text="你好", voice=SynthesizeVoice(language="zh-CN")).event()
    english = Synthesize(text="你好", voice=SynthesizeVoice(language="en-US")).event()
    zh = pcm_of(run(ask(server.port, [mandarin], "audio-stop")))
    en = pcm_of(run(ask(server.port, [english], "audio-stop")))
    assert len(zh) and len(en) and len(zh) != len(en)  # cmn-latn-pinyin, not English letters


def test_the_wake_word_is_detected_and_silence_is_not(
    server: ServerThread, audio: AudioBuilder
) -> None:
    phrase = audio.concat(audio.silence(0.5), audio.speech("hey jarvis"), audio.silence(1.0))
    hit = run(
        ask(server.port, [Detect().event(), *audio_events(read_wav_16k(phrase))], "detection")
    )
    assert hit[-1].type == "detection" and hit[-1].data["name"] == "hey_jarvis_v0.1"
    quiet = read_wav_16k(audio.silence(2.0))
    miss = run(ask(server.port, [Detect().event(), *audio_events(quiet)], "not-detected"))
    assert [e.type for e in miss] == ["not-detected"]


def test_clients_at_once_are_all_served(server: ServerThread, audio: AudioBuilder) -> None:
    samples = read_wav_16k(audio.speech("what time is it", PLAIN_VOICE))

    async def both() -> list[list[Event]]:
        asr = ask(server.port, [Transcribe().event(), *audio_events(samples)], "transcript")
        tts = ask(server.port, [Synthesize(text="Hi.").event()], "audio-stop")
        info = ask(server.port, [Describe().event()], "info")
        return list(await asyncio.gather(asr, tts, info, asr_again()))

    async def asr_again() -> list[Event]:
        return await ask(server.port, [Transcribe().event(), *audio_events(samples)], "transcript")

    results = run(both())
    assert [r[-1].type for r in results] == ["transcript", "audio-stop", "info", "transcript"]
    assert results[0][-1].data["text"] == results[3][-1].data["text"]
    assert words(results[0][-1].data["text"]) == ["what", "time", "is", "it"]


def test_the_voiced_wyoming_command_serves_until_sigterm(models_dir: Path) -> None:
    import re
    import signal
    import subprocess
    import sys

    from tests.conftest import REPO

    command = [sys.executable, "-m", "daemon", "wyoming", *SAY_ARGS, "--port", "0"]
    proc = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        port = 0
        for line in proc.stderr:
            if match := re.search(r"serving wyoming on tcp://127\.0\.0\.1:(\d+) \((.*)\)", line):
                port = int(match[1])
                assert match[2] == "voiced-whisper, voiced-espeak, voiced-openwakeword"
                break
        assert port, "the command never said where it serves"
        events = run(ask(port, [Describe().event()], "info"))
        assert Info.from_event(events[-1]).asr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        proc.kill()


def test_a_bad_wyoming_setting_is_a_one_line_config_error(tmp_path: Path) -> None:
    from tests.conftest import run_voiced

    config = tmp_path / "voiced.yaml"
    config.write_text(f"persona: {CONFIG.parent / 'persona.yaml'}\nwyoming: {{port: 70000}}\n")
    done = run_voiced("wyoming", "--config", str(config))
    assert done.returncode == 78
    assert done.stderr.strip().count("\n") == 0 and "wyoming.port" in done.stderr
