"""TTS latency: time to the first audio chunk and real-time factor, ChatTTS vs espeak-ng.

A 10-word and a 40-word English reply are cut into sentences by the daemon's chunker and spoken
sentence by sentence, as a turn does, through the product's stack: polish(fallback(voice)).
ChatTTS runs on the tiny random assets the tests build (tests/fixtures/chattts_assets.py), so
its numbers show the cost of the machinery (loading, streaming, decoding, the worker hop), not
of the released 1 GB model. With random weights a sentence would end at a random token, so each
one is given a fixed, speech-like budget of audio tokens (TOKENS_PER_CHAR; about 2.5 words/s).

time_to_first_chunk_s: from the request to the first chunk the speaker would get.
rtf: synthesis wall time / seconds of audio produced (< 1: faster than real time).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from daemon.config import ChatttsSettings, EspeakSettings, Persona
from daemon.tts import primary_deadline
from daemon.tts.base import Synthesizer
from daemon.tts.chattts import ChatttsSynthesizer
from daemon.tts.chunker import SentenceChunker
from daemon.tts.espeak import EspeakSynthesizer
from daemon.tts.fallback import FallbackSynthesizer
from daemon.tts.polish import PolishedSynthesizer
from tests.fixtures import chattts_assets
from tests.fixtures.audio import AudioBuilder

TOKENS_PER_CHAR = 3.5  # English: ~47 audio tokens per second of speech, ~13 characters a second
TIMEOUT = 10.0
PERSONA = Persona(name="Jarvis", language="en", system_prompt="You are Jarvis.")
REPLIES = {
    "10-words": "Sure, the weather today is sunny and warm everywhere.",
    "40-words": (
        "Here is the plan for tomorrow. You have a meeting with the design team at ten, "
        "lunch with Anna at half past twelve, and the dentist at four. It will rain in the "
        "afternoon, so take an umbrella and leave a little earlier than usual."
    ),
}


MODES = {  # refine_text (the default) costs a text pass before any audio, streamed or not
    "stream": ChatttsSettings(stream=True),
    "whole": ChatttsSettings(stream=False),
    "stream-no-refine": ChatttsSettings(stream=True, refine_text=False),
    "whole-no-refine": ChatttsSettings(stream=False, refine_text=False),
}


def speech_like(text: str) -> tuple[int, int]:
    tokens = round(TOKENS_PER_CHAR * len(text))
    return tokens, tokens


def sentences(text: str) -> list[str]:
    chunker = SentenceChunker()
    return chunker.push(text) + chunker.flush()


def measure(tts: Synthesizer, text: str) -> dict[str, object]:
    started = time.perf_counter()
    first: float | None = None
    audio = 0.0
    chunks = 0
    for sentence in sentences(text):
        for chunk in tts.synthesize(sentence, PERSONA):
            if first is None:
                first = time.perf_counter() - started
            audio += chunk.duration
            chunks += 1
    wall = time.perf_counter() - started
    return {
        "time_to_first_chunk_s": round(first or wall, 4),
        "synthesis_s": round(wall, 4),
        "audio_s": round(audio, 3),
        "rtf": round(wall / audio, 4) if audio else None,
        "chunks": chunks,
    }


def product_stack(voice: Synthesizer, espeak: EspeakSynthesizer) -> Synthesizer:
    """What make_synthesizer builds for tts.backend chattts with the espeak fallback."""
    return PolishedSynthesizer(FallbackSynthesizer(voice, espeak, primary_deadline(TIMEOUT)))


def run(audio: AudioBuilder) -> dict[str, object]:
    import torch

    espeak = EspeakSynthesizer(EspeakSettings(), TIMEOUT)
    results: dict[str, object] = {
        "torch_threads": torch.get_num_threads(),
        "tokens_per_char": TOKENS_PER_CHAR,
    }
    with tempfile.TemporaryDirectory(prefix="voiced-tts-bench-") as tmp:
        models = Path(tmp)
        chattts_assets.build(models)
        for mode, settings in MODES.items():
            started = time.perf_counter()
            voice = ChatttsSynthesizer(settings, models, token_budget=speech_like)
            results[f"chattts-tiny/{mode}/load_and_warm_up_s"] = round(
                time.perf_counter() - started, 3
            )
            stack = product_stack(voice, espeak)
            for name, text in REPLIES.items():
                measure(stack, text)  # first use of this voice: stores its speaker
                results[f"chattts-tiny/{mode}/{name}"] = measure(stack, text)
    for name, text in REPLIES.items():
        results[f"espeak-ng/{name}"] = measure(PolishedSynthesizer(espeak), text)
    return results
