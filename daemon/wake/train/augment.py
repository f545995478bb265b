"""Make a clean clip sound like a room: speed, gain, reverberation and a background at a random
SNR (noise of three colours, music-like tones, or other people talking). All draws come from the
caller's seeded generator."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import soxr

SAMPLE_RATE = 16000
BACKGROUNDS = ("white", "pink", "brown", "music", "babble", "none")


def change_speed(audio: np.ndarray, factor: float) -> np.ndarray:
    """Play `factor` times faster (pitch follows, like a tape)."""
    if abs(factor - 1.0) < 1e-3:
        return audio
    return soxr.resample(audio, SAMPLE_RATE * factor, SAMPLE_RATE).astype(np.float32)


def impulse_response(rng: np.random.Generator, rt60: float) -> np.ndarray:
    """A synthetic room: a direct path, a few early reflections and an exponentially decaying
    noise tail that is 60 dB down after `rt60` seconds."""
    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60) * 0.3
    ir = tail.astype(np.float32)
    ir[0] = 1.0
    for _ in range(4):
        ir[int(rng.integers(40, max(41, n // 8)))] += float(rng.uniform(0.2, 0.6))
    return ir / np.sqrt(np.sum(ir**2))


def reverberate(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ir = impulse_response(rng, float(rng.uniform(0.15, 0.8)))
    size = len(audio) + len(ir) - 1
    wet = np.fft.irfft(np.fft.rfft(audio, size) * np.fft.rfft(ir, size), size)[: len(audio)]
    peak = float(np.abs(wet).max(initial=0)) or 1.0
    return (wet * (float(np.abs(audio).max(initial=0)) / peak)).astype(np.float32)


def coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n)
    if colour == "white":
        return white.astype(np.float32)
    spectrum = np.fft.rfft(white)
    freqs = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    spectrum /= np.sqrt(freqs) if colour == "pink" else freqs
    noise = np.fft.irfft(spectrum, n)
    return (noise / (np.std(noise) or 1.0)).astype(np.float32)


def music(n: int, rng: np.random.Generator) -> np.ndarray:
    """Notes with harmonics and decaying envelopes, a few at a time: music to a wake model."""
    out = np.zeros(n, dtype=np.float32)
    note = int(SAMPLE_RATE * rng.uniform(0.15, 0.5))
    t = np.arange(note) / SAMPLE_RATE
    for start in range(0, n, note):
        for _ in range(int(rng.integers(1, 4))):
            f0 = 110.0 * 2 ** (int(rng.integers(0, 36)) / 12)
            tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5))
            piece = (tone * np.exp(-t * rng.uniform(2, 8))).astype(np.float32)
            out[start : start + note] += piece[: n - start]
    return out


def babble(n: int, speech: Sequence[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Two or three other voices at once, from clips that do not hold the wake phrase."""
    out = np.zeros(n, dtype=np.float32)
    for _ in range(int(rng.integers(2, 4))):
        clip = speech[int(rng.integers(len(speech)))]
        if len(clip) == 0:
            continue
        reps = np.tile(clip, n // len(clip) + 2)
        start = int(rng.integers(len(clip)))
        out += reps[start : start + n]
    return out


def background(
    kind: str, n: int, rng: np.random.Generator, speech: Sequence[np.ndarray]
) -> np.ndarray:
    if kind == "music":
        return music(n, rng)
    if kind == "babble" and speech:
        return babble(n, speech, rng)
    if kind in ("white", "pink", "brown"):
        return coloured_noise(n, kind, rng)
    return np.zeros(n, dtype=np.float32)


def mix(audio: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`audio` with `noise` at `snr_db` below the speech's power (speech-active part only)."""
    active = audio[np.abs(audio) > 0.02 * float(np.abs(audio).max(initial=0))]
    speech_power = float(np.mean(active**2)) if active.size else 0.0
    noise_power = float(np.mean(noise**2))
    if speech_power == 0.0 or noise_power == 0.0:
        return audio
    scale = np.sqrt(speech_power / (noise_power * 10 ** (snr_db / 10)))
    return (audio + noise * scale).astype(np.float32)


def augment(
    audio: np.ndarray, rng: np.random.Generator, speech: Sequence[np.ndarray] = ()
) -> np.ndarray:
    """One random room: reverberation (60%), a background at 0-25 dB SNR (85%), gain
    -20..+6 dB, clipped to [-1, 1]. Speed is changed by the caller, who must know where the
    phrase ends."""
    if rng.random() < 0.6:
        audio = reverberate(audio, rng)
    kind = str(rng.choice(BACKGROUNDS, p=(0.15, 0.15, 0.1, 0.2, 0.25, 0.15)))
    if kind != "none":
        noise = background(kind, len(audio), rng, speech)
        audio = mix(audio, noise, float(rng.uniform(0, 25)))
    gain = 10 ** (float(rng.uniform(-20, 6)) / 20)
    peak = float(np.abs(audio).max(initial=0))
    if peak * gain > 1.0:
        gain = 0.99 / peak
    return np.clip(audio * gain, -1.0, 1.0).astype(np.float32)
