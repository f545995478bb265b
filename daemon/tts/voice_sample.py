"""Candidate ChatTTS voices as WAV files, so a person can listen and pick one for persona.yaml.

ChatTTS has no named voices: a voice is a speaker embedding drawn at random. This renders the
same text in `count` new voices (each also written as a .txt holding its speaker string and the
persona.yaml lines to paste), with the persona's speed, style and loudness, exactly as the daemon
would say it. Pasting the speaker string (rather than the seed) keeps the voice even if a later
torch draws different random numbers for the same seed.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from daemon.config import ChatttsSettings, Persona
from daemon.tts.chattts import ChatttsSynthesizer
from daemon.tts.polish import polish

log = logging.getLogger(__name__)


def with_speaker(persona: Persona, speaker: str) -> Persona:
    """`persona` speaking with `speaker` (a copy; personas are frozen)."""
    voice = persona.voice.chattts.model_copy(update={"speaker": speaker})
    return persona.model_copy(update={"voice": persona.voice.model_copy(update={"chattts": voice})})


def persona_snippet(speaker: str, seed: int) -> str:
    return (
        f"# ChatTTS voice drawn from seed {seed}; paste under voice: in persona.yaml\n"
        f"voice:\n  chattts:\n    speaker: {speaker}\n"
    )


def render_samples(
    settings: ChatttsSettings,
    models_dir: Path,
    persona: Persona,
    text: str,
    count: int,
    out_dir: Path,
    *,
    seeds: Sequence[int] | None = None,
    synthesizer: ChatttsSynthesizer | None = None,
) -> list[tuple[Path, str]]:
    """Writes voice-NN-seed-S.wav (+ .txt) for `count` new voices; returns (wav, speaker string).

    `seeds` default to fresh random ones, so each run offers new candidates. Loads ChatTTS from
    models_dir unless a loaded `synthesizer` is given. Raises ModelMissing without the assets.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    chosen = list(seeds) if seeds is not None else [secrets.randbelow(2**31) for _ in range(count)]
    if len(set(chosen)) < count:
        raise ValueError(f"{count} voices need {count} different seeds, got {chosen}")
    tts = synthesizer or ChatttsSynthesizer(settings, models_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rendered = []
    for index, seed in enumerate(chosen[:count], start=1):
        speaker = tts.sample_speaker(seed)
        wav = out_dir / f"voice-{index:02d}-seed-{seed}.wav"
        _write(wav, tts, text, with_speaker(persona, speaker))
        wav.with_suffix(".txt").write_text(persona_snippet(speaker, seed), encoding="utf-8")
        log.info("voice %d (seed %d): %s", index, seed, wav)
        rendered.append((wav, speaker))
    return rendered


def _write(path: Path, tts: ChatttsSynthesizer, text: str, persona: Persona) -> None:
    chunks = list(polish(tts.synthesize(text, persona)))
    rate = chunks[0].sample_rate if chunks else 24000
    samples = np.concatenate([c.samples for c in chunks]) if chunks else np.zeros(0, np.float32)
    sf.write(str(path), samples, rate, subtype="PCM_16")
