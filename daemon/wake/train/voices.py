"""Voices for training and evaluation: who says a text, and how.

A `Style` is one way of saying something: an espeak-ng voice variant at a rate, pitch and word
gap, or gcin-voice's recorded Mandarin syllables (speaker 3 only) with a syllable gap and timing
jitter. Styles are drawn from a seeded generator out of two disjoint pools of espeak variants, so
the held-out evaluation hears voices that training never heard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from daemon.wake.train.corpus import is_chinese

SAMPLE_RATE = 16000
TRAIN_VARIANTS = (
    None, "m1", "m2", "m4", "m5", "m7", "f1", "f2", "f4", "klatt", "klatt3", "klatt4",
    "Alex", "Andy", "Annie", "adam", "anika", "aunty", "boris", "caleb", "david", "ed",
    "edward", "gustave", "iven", "john", "linda", "max", "michel", "norbert", "paul",
    "quincy", "rob", "robert", "sandro", "shelby", "steph", "travis", "victor", "zac",
)  # fmt: skip
HELD_OUT_VARIANTS = (
    "m3", "m6", "f3", "f5", "klatt2", "Mike", "benjamin", "grandma", "miguel", "steph2",
)  # fmt: skip
EN_VOICES_TRAIN = ("en-us", "en-gb", "en-gb-scotland", "en-029")
EN_VOICES_HELD_OUT = ("en-us", "en-gb-x-rp")
ZH_VOICE = "cmn-latn-pinyin"
GCIN_SPEAKER = 3  # speaker 5 is the project's evaluation voice: never used here


class CannotSay(Exception):
    """No synthesizer here can say the phrase."""


@dataclass(frozen=True)
class Style:
    source: str  # "espeak" or "gcin"
    voice: str = ""
    variant: str | None = None
    rate: int = 160
    pitch: int = 50
    word_gap: int = 0
    gap_seconds: float = 0.05
    jitter: float = 0.0

    def label(self) -> str:
        if self.source == "gcin":
            return f"gcin{GCIN_SPEAKER} gap={self.gap_seconds:.2f}"
        return f"{self.voice}+{self.variant or 'default'} rate={self.rate} pitch={self.pitch}"


def draw_styles(
    text: str, count: int, rng: np.random.Generator, held_out: bool, gcin_share: float = 0.3
) -> list[Style]:
    """`count` styles for saying `text`: espeak-ng variants, and for Mandarin also gcin."""
    chinese = is_chinese(text)
    variants = HELD_OUT_VARIANTS if held_out else TRAIN_VARIANTS
    voices = (ZH_VOICE,) if chinese else (EN_VOICES_HELD_OUT if held_out else EN_VOICES_TRAIN)
    # Held-out rates and pitches lie partly outside the training ranges.
    rates = (110, 230) if held_out else (120, 210)
    styles = []
    for _ in range(count):
        if chinese and rng.random() < gcin_share:
            gap = float(rng.uniform(0.08, 0.16) if held_out else rng.uniform(0.0, 0.12))
            styles.append(Style("gcin", gap_seconds=gap, jitter=float(rng.uniform(0.1, 0.5))))
            continue
        styles.append(
            Style(
                "espeak",
                voice=str(rng.choice(voices)),
                variant=variants[int(rng.integers(len(variants)))],
                rate=int(rng.integers(*rates)),
                pitch=int(rng.integers(20, 80)),
                word_gap=int(rng.integers(0, 4)),
            )
        )
    return styles


def say(text: str, style: Style, rng: np.random.Generator) -> np.ndarray:
    """`text` in `style`: float32 16 kHz mono, leading and trailing silence trimmed."""
    if style.source == "gcin":
        from daemon.synth.gcin import GcinError, mandarin_speech

        try:
            audio = mandarin_speech(
                text,
                speaker=GCIN_SPEAKER,
                gap_seconds=style.gap_seconds,
                rng=rng,
                jitter=style.jitter,
                sample_rate=SAMPLE_RATE,
            )
        except GcinError as err:
            raise CannotSay(str(err)) from err
    else:
        from daemon.synth.espeak import EspeakError, espeak_speech

        try:
            audio = espeak_speech(
                text,
                style.voice,
                rate=style.rate,
                pitch=style.pitch,
                word_gap=style.word_gap,
                variant=style.variant,
                sample_rate=SAMPLE_RATE,
            )
        except EspeakError as err:
            raise CannotSay(str(err)) from err
    return trim(audio)


def trim(audio: np.ndarray, level: float = 0.01) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > level * max(float(np.abs(audio).max(initial=0)), 1e-6))
    if loud.size == 0:
        return audio[:0]
    return audio[loud[0] : loud[-1] + 1]
