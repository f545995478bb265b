"""Clips -> openWakeWord embeddings -> labelled classifier windows.

A positive clip is quiet lead-in, the wake phrase (sped up or slowed down by up to 10%), then
often a request, all in one random room (daemon/wake/train/augment.py). Windows whose last
embedding ends within [-0.1, +0.3] s of the phrase's end are positives (the model should fire
just after the phrase); windows ending before the phrase is half said are negatives (the model
must not fire on "你好" alone); the ones in between are left out. Every window of talk without the
phrase, of confusable phrases and of background sounds is a negative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from daemon.wake.features import FeatureModels
from daemon.wake.train.augment import augment, background, change_speed
from daemon.wake.train.corpus import confusables, is_chinese, texts, vocabulary
from daemon.wake.train.voices import SAMPLE_RATE, CannotSay, draw_styles, say

EMBED_END_OFFSET = 12400  # samples: embedding i covers audio up to 1280 * i + 12400
POSITIVE_BEFORE, POSITIVE_AFTER = 0.1, 0.3  # seconds around the phrase's end labelled positive


def embedding_end(index: np.ndarray | int) -> np.ndarray:
    """Audio time (s) at which embedding `index` of a clip ends."""
    return (1280 * np.asarray(index) + EMBED_END_OFFSET) / SAMPLE_RATE


@dataclass
class Clip:
    audio: np.ndarray  # float32 16 kHz
    phrase: tuple[float, float] | None = None  # start, end of the wake phrase (s)
    kind: str = "talk"
    style: str = ""


@dataclass
class Windows:
    x: list[np.ndarray] = field(default_factory=list)
    y: list[np.ndarray] = field(default_factory=list)

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        if len(y):
            self.x.append(x.astype(np.float32))
            self.y.append(y.astype(np.float32))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.concatenate(self.x), np.concatenate(self.y)


def to_int16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


def windows_of(embeddings: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Every `frames`-long run of embeddings, and the index of its last embedding."""
    ends = np.arange(frames - 1, len(embeddings))
    if len(ends) == 0:
        return np.zeros((0, frames, embeddings.shape[1]), np.float32), ends
    view = np.lib.stride_tricks.sliding_window_view(embeddings, frames, axis=0)
    return np.transpose(view, (0, 2, 1)), ends


KINDS = ("talk", "positive", "confusable", "noise")
BABBLE_VOICES = 6


class ClipMaker:
    """Builds the clips of one split (training or held-out). Clip `index` of a kind is drawn from
    its own generator, seeded by (seed, split, kind, index): the same clip whichever process
    makes it and in whatever order, so training is reproducible with any number of workers."""

    def __init__(
        self, phrase: str, seed: int, held_out: bool, recordings: Sequence[np.ndarray] = ()
    ) -> None:
        self.phrase = phrase
        self.seed = seed
        self.held_out = held_out
        self.recordings = list(recordings)
        self.chinese = is_chinese(phrase)
        self.own = texts(self.chinese, held_out)
        self.other = texts(not self.chinese, held_out)
        self.rng = self._generator("babble", 0)
        # Other people talking in the background: a few voices, made once per split.
        self._babble = [self._say(text)[0] for text in self.own.talk[:BABBLE_VOICES]]

    def _generator(self, kind: str, index: int) -> np.random.Generator:
        stream = (*KINDS, "babble").index(kind) + 1
        return np.random.default_rng([self.seed, int(self.held_out), stream, index])

    def make(self, kind: str, index: int) -> Clip:
        self.rng = self._generator(kind, index)
        make = {
            "talk": self.talk,
            "positive": self.positive,
            "confusable": self.confusable,
            "noise": self.noise,
        }[kind]
        return make(index)

    def _say(self, text: str) -> tuple[np.ndarray, str]:
        style = draw_styles(text, 1, self.rng, self.held_out)[0]
        try:
            return say(text, style, self.rng), style.label()
        except CannotSay:
            if style.source != "gcin":
                raise
        # gcin-voice lacks a few syllables (some neutral tones): espeak-ng says those texts.
        style = draw_styles(text, 1, self.rng, self.held_out, gcin_share=0.0)[0]
        return say(text, style, self.rng), style.label()

    def _silence(self, low: float, high: float) -> np.ndarray:
        return np.zeros(int(self.rng.uniform(low, high) * SAMPLE_RATE), np.float32)

    def _room(self, audio: np.ndarray) -> np.ndarray:
        return augment(audio, self.rng, self._babble)

    def positive(self, index: int) -> Clip:
        if self.recordings and index % 3 == 0:
            phrase = self.recordings[(index // 3) % len(self.recordings)]
            label = "recording"
        else:
            phrase, label = self._say(self.phrase)
        phrase = change_speed(phrase, float(self.rng.uniform(0.9, 1.1)))
        lead = self._lead()
        parts = [lead, phrase, self._silence(0.1, 0.5)]
        if self.rng.random() < 0.5:
            request = self.own.requests[int(self.rng.integers(len(self.own.requests)))]
            parts.append(self._say(request)[0])
        parts.append(self._silence(0.5, 0.8))
        start = len(lead) / SAMPLE_RATE
        end = start + len(phrase) / SAMPLE_RATE
        return Clip(self._room(np.concatenate(parts)), (start, end), "positive", label)

    def _lead(self) -> np.ndarray:
        """What comes before the phrase: quiet, or (half the time) someone still talking, so
        that "quiet, then speech" is not what the model learns to fire on."""
        if self.rng.random() < 0.5:
            return self._silence(1.2, 2.0)
        words = self._say(self._random_words(4, 8))[0]
        return np.concatenate([self._silence(0.0, 0.3), words, self._silence(0.2, 0.6)])

    def _random_words(self, low: int, high: int, chinese: bool | None = None) -> str:
        """Words of the language in a random order (a large vocabulary, held-out words for the
        held-out split): talk with every sound, the phrase's syllables included, never the
        phrase itself."""
        chinese = self.chinese if chinese is None else chinese
        pool = vocabulary(chinese, self.held_out)
        joiner = "" if chinese else " "
        while True:
            picks = self.rng.integers(len(pool), size=int(self.rng.integers(low, high + 1)))
            text = joiner.join(pool[int(i)] for i in picks)
            if self.phrase.lower() not in text.lower():
                return text

    def confusable(self, index: int) -> Clip:
        options = confusables(self.phrase)
        audio, label = self._say(options[index % len(options)])
        audio = change_speed(audio, float(self.rng.uniform(0.9, 1.1)))
        parts = [self._silence(1.2, 2.0), audio, self._silence(0.5, 1.0)]
        return Clip(self._room(np.concatenate(parts)), None, "confusable", label)

    def talk(self, index: int, sentences: int = 3) -> Clip:
        """Talk without the phrase between quiet stretches: a quarter in the other language;
        a third of it sentences, the rest words of a large vocabulary in a random order."""
        chinese = self.chinese if index % 4 else not self.chinese
        source = self.own if chinese == self.chinese else self.other
        if index % 3 == 0:
            picks = self.rng.choice(len(source.talk), size=sentences, replace=True)
            text = " ".join(source.talk[i] for i in picks)
        else:
            text = ", ".join(self._random_words(3, 6, chinese) for _ in range(sentences))
        audio, label = self._say(text)
        # Quiet before and after: the end of a sentence followed by silence must not look like
        # the end of the wake phrase.
        audio = np.concatenate([self._silence(0.3, 2.0), audio, self._silence(0.5, 1.5)])
        return Clip(self._room(audio), None, "talk", label)

    def noise(self, index: int, seconds: float = 4.0) -> Clip:
        kinds = ("music", "babble", "white", "pink", "brown")
        kind = kinds[index % len(kinds)]
        n = int(seconds * SAMPLE_RATE)
        audio = background(kind, n, self.rng, self._babble)
        peak = float(np.abs(audio).max(initial=0)) or 1.0
        level = 10 ** (float(self.rng.uniform(-35, -6)) / 20)
        return Clip((audio / peak * level).astype(np.float32), None, "noise", kind)


@dataclass(frozen=True)
class Sizes:
    """How many clips of each kind one split has."""

    positives: int
    confusables: int
    talk: int
    noise: int

    def total(self) -> int:
        return self.positives + self.confusables + self.talk + self.noise

    def specs(self) -> list[tuple[str, int]]:
        """(kind, index) of every clip, kinds interleaved so progress is even."""
        counts = {"talk": self.talk, "positive": self.positives}
        counts |= {"confusable": self.confusables, "noise": self.noise}
        longest = max(counts.values())
        return [(k, i) for i in range(longest) for k in KINDS if i < counts[k]]


@dataclass
class Embedded:
    """A clip reduced to what training and evaluation need: its embeddings and what it holds."""

    embeddings: np.ndarray
    phrase: tuple[float, float] | None
    kind: str
    style: str
    seconds: float


def embed_clip(clip: Clip, features: FeatureModels) -> Embedded:
    embeddings = features.clip(to_int16(clip.audio)).astype(np.float32)
    return Embedded(embeddings, clip.phrase, clip.kind, clip.style, len(clip.audio) / SAMPLE_RATE)


def label_windows(
    item: Embedded, frames: int, talk_stride: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """The windows of an embedded clip and their labels (1 positive, 0 negative); windows near
    but not at the phrase's end are left out, and long talk keeps every `talk_stride`-th one."""
    x, ends = windows_of(item.embeddings, frames)
    if item.phrase is None:
        step = talk_stride if item.kind == "talk" else 1
        return x[::step], np.zeros(len(x[::step]), dtype=np.float32)
    times = embedding_end(ends)
    start, end = item.phrase
    positive = (times >= end - POSITIVE_BEFORE) & (times <= end + POSITIVE_AFTER)
    negative = times <= start + 0.5 * (end - start)
    keep = positive | negative
    return x[keep], positive[keep].astype(np.float32)
