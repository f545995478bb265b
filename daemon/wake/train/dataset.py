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
from daemon.wake.train.corpus import ZH_SAME_SOUND, confusables, is_chinese, texts, vocabulary
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
    """Labelled windows kept as (clip embeddings, window starts) rather than copied out: hours
    of talk give hundreds of thousands of overlapping 16-embedding windows, 16 times the memory
    of the embeddings themselves."""

    embeddings: list[np.ndarray] = field(default_factory=list)
    starts: list[np.ndarray] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)
    size: int = 0

    def add(self, embeddings: np.ndarray, starts: np.ndarray, labels: np.ndarray) -> None:
        """A clip's embeddings, the first index of each window kept, and their labels."""
        if len(labels):
            self.embeddings.append(embeddings.astype(np.float32))
            self.starts.append(starts.astype(np.int64) + self.size)
            self.labels.append(labels.astype(np.float32))
            self.size += len(embeddings)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(all embeddings (n, 96), window starts into them, labels)."""
        return (
            np.concatenate(self.embeddings),
            np.concatenate(self.starts),
            np.concatenate(self.labels),
        )


def gather(embeddings: np.ndarray, starts: np.ndarray, frames: int) -> np.ndarray:
    """The windows beginning at `starts`: (len(starts), frames, 96)."""
    return embeddings[starts[:, None] + np.arange(frames)]


def to_int16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


def windows_of(embeddings: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Every `frames`-long run of embeddings, and the index of its last embedding."""
    ends = np.arange(frames - 1, len(embeddings))
    if len(ends) == 0:
        return np.zeros((0, frames, embeddings.shape[1]), np.float32), ends
    view = np.lib.stride_tricks.sliding_window_view(embeddings, frames, axis=0)
    return np.transpose(view, (0, 2, 1)), ends


KINDS = ("talk", "positive", "confusable", "noise", "long_talk")
# Each kind draws from its own random stream; new kinds go at the end, so adding one changes
# no clip of the others (the benchmark's held-out clips stay the same).
STREAMS = ("talk", "positive", "confusable", "noise", "babble", "long_talk")
BABBLE_VOICES = 6
LONG_TALK_SECONDS = (20.0, 40.0)


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
        stream = STREAMS.index(kind) + 1
        return np.random.default_rng([self.seed, int(self.held_out), stream, index])

    def make(self, kind: str, index: int) -> Clip:
        self.rng = self._generator(kind, index)
        make = {
            "talk": self.talk,
            "positive": self.positive,
            "confusable": self.confusable,
            "noise": self.noise,
            "long_talk": self.long_talk,
        }[kind]
        return make(index)

    def _say(self, text: str, gcin_share: float = 0.3) -> tuple[np.ndarray, str]:
        style = draw_styles(text, 1, self.rng, self.held_out, gcin_share)[0]
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
            if not self._says_phrase(text):
                return text

    def _says_phrase(self, text: str) -> bool:
        said = text.lower().replace(" ", "")
        return any(p in said for p in (self.phrase.lower().replace(" ", ""), *ZH_SAME_SOUND))

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

    def long_talk(self, index: int) -> Clip:
        """20-40 s of talk without the phrase, as a conversation: each stretch in its own voice
        (for Mandarin half of them the phrase's real recorded voice, gcin speaker 3, so that
        the model learns the phrase and not the voice), a fifth in the other language, random
        words of a large vocabulary, sentences, and near-misses (你好 / 小智 inside talk)."""
        length = float(self.rng.uniform(*LONG_TALK_SECONDS))
        parts: list[np.ndarray] = [self._silence(0.2, 1.0)]
        seconds = 0.0
        while seconds < length:
            chinese = self.chinese if self.rng.random() < 0.8 else not self.chinese
            said = self._say(self._stretch(chinese), gcin_share=0.5)[0]
            said = change_speed(said, float(self.rng.uniform(0.9, 1.1)))
            parts += [said, self._silence(0.1, 1.2)]
            seconds += (len(said) + len(parts[-1])) / SAMPLE_RATE
        return Clip(self._room(np.concatenate(parts)), None, "long_talk", "conversation")

    def _stretch(self, chinese: bool) -> str:
        """One stretch of talk: mostly random words, some sentences, some near-misses."""
        draw = self.rng.random()
        source = self.own if chinese == self.chinese else self.other
        if draw < 0.2:
            return source.talk[int(self.rng.integers(len(source.talk)))]
        if draw < 0.35 and chinese == self.chinese:
            options = confusables(self.phrase)
            near = options[int(self.rng.integers(len(options)))]
            joiner = "" if chinese else " "
            while True:
                before = self._random_words(0, 2, chinese)
                after = self._random_words(0, 3, chinese)
                text = joiner.join(t for t in (before, near, after) if t)
                if not self._says_phrase(text):
                    return text
        return self._random_words(2, 8, chinese)

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
    long_talk: int = 0

    def total(self) -> int:
        return self.positives + self.confusables + self.talk + self.noise + self.long_talk

    def specs(self) -> list[tuple[str, int]]:
        """(kind, index) of every clip, kinds interleaved so progress is even."""
        counts = {"talk": self.talk, "positive": self.positives, "long_talk": self.long_talk}
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


def label_windows(item: Embedded, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The first embedding index of each window of an embedded clip kept for training, and its
    label (1 positive, 0 negative). Every window of a clip without the phrase is a negative,
    whatever its position; in a positive clip, windows near but not at the phrase's end are
    left out."""
    _, ends = windows_of(item.embeddings, frames)
    starts = ends - (frames - 1)
    if item.phrase is None:
        return starts, np.zeros(len(starts), dtype=np.float32)
    times = embedding_end(ends)
    start, end = item.phrase
    positive = (times >= end - POSITIVE_BEFORE) & (times <= end + POSITIVE_AFTER)
    negative = times <= start + 0.5 * (end - start)
    keep = positive | negative
    return starts[keep], positive[keep].astype(np.float32)
