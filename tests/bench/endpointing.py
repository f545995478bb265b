"""Endpointing: how soon a request ends after the person stops, and how often a pause in the
middle of a sentence is taken for the end (a cut-off), for fixed hangovers and for the adaptive
one (a shorter hangover when the streaming partial transcript sounds finished, a longer one after
a word like "the" or "for"). Real Silero VAD; pocketsphinx partials; espeak-ng speech."""

from __future__ import annotations

import statistics
from pathlib import Path

from daemon.asr.pocketsphinx import PocketsphinxTranscriber
from daemon.audio.frames import FRAME_SAMPLES, AudioFrame, Reframer
from daemon.config import EndpointSettings, PocketsphinxSettings, VadSettings, default_models_dir
from daemon.turn.recording import Recording
from daemon.vad import make_vad
from daemon.vad.endpoint import Decision
from tests.fixtures.audio import AudioBuilder, read, speech_end

COMPLETE = [
    "what time is it",
    "turn off the lights",
    "tell me a joke",
    "what is the weather like today",
    "how tall is mount everest",
    "play some music",
    "stop the timer",
    "who wrote hamlet",
]
PAUSED = [
    ("what is the weather", "in london tomorrow"),
    ("set a timer for", "five minutes"),
    ("tell me about", "the history of rome"),
    ("play some music by", "the beatles"),
    ("remind me to", "call my mother"),
    ("how far is it from paris to", "berlin"),
    ("turn on the lights in", "the kitchen"),
    ("what is the capital of", "australia"),
]
PAUSES = (0.6, 0.9)


def _clips(audio: AudioBuilder) -> list[tuple[Path, float, str]]:
    """(wav, seconds to the end of the last word, kind)."""
    lead, tail = audio.silence(0.3), audio.silence(2.5)
    clips = []
    for text in COMPLETE:
        words = audio.speech(text)
        clips.append((audio.concat(lead, words, tail), 0.3 + speech_end(words), "complete"))
    for first, second in PAUSED:
        for pause in PAUSES:
            a, b = audio.speech(first), audio.speech(second)
            gap = audio.silence(pause)
            clip = audio.concat(lead, a, gap, b, tail)
            end = 0.3 + read(a).size / 16000 + pause + speech_end(b)
            clips.append((clip, end, f"paused-{pause}"))
    return clips


def _endpoint(wav: Path, settings: EndpointSettings, adaptive: bool) -> float:
    vad = make_vad(VadSettings(), default_models_dir())
    recording = Recording(vad, settings, 0.5)
    session = PocketsphinxTranscriber(PocketsphinxSettings()).start() if adaptive else None
    at = 0.0
    for frame in Reframer(FRAME_SAMPLES).push(read(wav)):
        partial = ""
        if session is not None:
            session.feed(frame.samples)
            partial = session.partial
        at = frame.end
        if recording.feed(AudioFrame(frame.samples, frame.start), partial) is not Decision.CONTINUE:
            break
    if session is not None:
        session.finish()
    return at


def _summary(rows: list[tuple[float, float, str]]) -> dict[str, object]:
    cut = [r for r in rows if r[0] < r[1]]
    complete = [r[0] - r[1] for r in rows if r[2] == "complete"]
    return {
        "cut_off_rate_paused": f"{len([r for r in cut if r[2] != 'complete'])}/"
        f"{len([r for r in rows if r[2] != 'complete'])}",
        "cut_off_complete": len([r for r in cut if r[2] == "complete"]),
        "endpoint_latency_complete_ms": {
            "p50": round(statistics.median(complete) * 1000),
            "p95": round(sorted(complete)[round(0.95 * (len(complete) - 1))] * 1000),
        },
    }


def run(audio: AudioBuilder) -> dict[str, object]:
    clips = _clips(audio)
    results: dict[str, object] = {}
    for hangover in (0.4, 0.6, 0.8, 1.0):
        fixed = EndpointSettings(silence_seconds=hangover)
        rows = [(_endpoint(wav, fixed, False), end, kind) for wav, end, kind in clips]
        results[f"fixed-{hangover}s"] = _summary(rows)
    adaptive = EndpointSettings()
    rows = [(_endpoint(wav, adaptive, True), end, kind) for wav, end, kind in clips]
    results["adaptive (defaults)"] = {
        **_summary(rows),
        "settings": adaptive.model_dump(
            include={"silence_seconds", "finished_silence_seconds", "unfinished_silence_seconds"}
        ),
    }
    return results
