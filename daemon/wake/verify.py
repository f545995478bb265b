"""Second-stage wake check: did the person really say the wake phrase?

The openWakeWord-style classifier also fires on voices it never heard (scripts/bench wake: tens
of false accepts per hour of held-out talk). Two second stages, both with the ASR's own Whisper:

- the one the product runs (wake.verify: whisper), `WhisperPhraseCheck`, scores rather than
  decodes: how likely are the phrase's tokens in the 2 s before the fire (teacher-forced,
  CTranslate2's `align`, in a 3 s encoder window)? The fire is taken if their mean
  log-probability reaches the threshold, chosen on training-side clips (tests/bench/
  wake_score.py, `scripts/bench wake-score`); prefix_words > 0 also scores the phrase after
  each of the first words Whisper itself heard there (measured: no better, and slower);
- free decoding, measured only (tests/bench/wake_verify.py): the window decoded and accepted if
  its toneless pinyin holds the phrase's syllables in a row (any spelling counts: 小智, 小知,
  晓志, 曉智, "xiao zhi"; near forms NEAR_SYLLABLES chosen on held-out espeak-ng and gcin
  speaker-3 positives, never speaker 5). It passed too few real phrases.

Figures: README, "Second-stage check (wake.verify)".
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, cast

import numpy as np

from daemon.config import WakeSettings
from daemon.errors import ConfigError
from daemon.wake.base import CheckVerdict, WakeCheck

SAMPLE_RATE = 16000
BEFORE_SECONDS = 2.0  # the phrase (~1 s) ends just before the fire; room for slow speakers
AFTER_SECONDS = 0.3  # the fire comes 0.1-0.2 s after the phrase's end; a little margin

# Syllables Whisper base writes for a spoken one. Without a prompt it wrote 小子/小吃 for 小智
# on 12 of 100 held-out positives (espeak-ng, gcin speaker 3) and on no false accept of 2 h of
# held-out talk (scripts/bench wake-verify). Real talk says 小子 ("kid"): watch for it.
NEAR_SYLLABLES: dict[str, tuple[str, ...]] = {"zhi": ("zi", "chi")}

_LATIN_WORD = re.compile(r"[a-z]+")


def wake_window(
    audio: np.ndarray,
    fired_at: float,
    before: float = BEFORE_SECONDS,
    after: float = AFTER_SECONDS,
) -> np.ndarray:
    """The audio from `before` seconds before the fire to `after` seconds after it (clipped to
    the recording), 16 kHz samples; `fired_at` is seconds from the start of `audio`."""
    start = max(0, int(round((fired_at - before) * SAMPLE_RATE)))
    end = max(start, int(round((fired_at + after) * SAMPLE_RATE)))
    return audio[start:end]


def syllables(text: str) -> list[str]:
    """`text` as lower-case toneless pinyin syllables; Latin words kept as words, punctuation
    and other symbols dropped. Traditional and simplified characters read alike."""
    from pypinyin import Style, lazy_pinyin

    out: list[str] = []
    for piece in lazy_pinyin(text, style=Style.NORMAL, errors="default"):
        out.extend(_LATIN_WORD.findall(piece.lower()))
    return out


def says_wake_phrase(
    text: str, phrase_pinyin: str, near: Mapping[str, tuple[str, ...]] = NEAR_SYLLABLES
) -> bool:
    """True if `text` (an ASR transcript) holds the phrase's syllables in a row, e.g. "xiao zhi",
    each one as written or as one of its `near` forms; the phrase may also be written as one
    Latin word ("xiaozhi")."""
    wanted = phrase_pinyin.lower().split()
    if not wanted:
        raise ValueError("phrase_pinyin is empty")
    heard = syllables(text)
    if "".join(wanted) in heard:
        return True
    n = len(wanted)
    return any(
        all(h == w or h in near.get(w, ()) for h, w in zip(heard[i : i + n], wanted, strict=True))
        for i in range(len(heard) - n + 1)
    )


# --- the scoring check (wake.verify: whisper) ---------------------------------------------------

CHECKED_PHRASES = {"ni_hao_xiao_zhi": "你好小智"}  # wake model -> what its phrase says
HOP = 160  # samples per Whisper mel frame
PREFIX_WORDS = 0  # words Whisper heard before the phrase it may follow (4: no better, 35% slower)


class WhisperPhraseCheck:
    """Did the window before a fire say the wake phrase? Runs on the ASR worker (the Whisper
    model is the ASR's own); `model_of` returns the loaded faster-whisper model."""

    def __init__(
        self,
        model_of: Callable[[], Any],
        threshold: float,
        frames: int,
        prefix_words: int = PREFIX_WORDS,
        phrases: Mapping[str, str] = CHECKED_PHRASES,
    ) -> None:
        self._model_of = model_of
        self.threshold = threshold
        self.frames = frames
        self.prefix_words = prefix_words
        self._phrases = dict(phrases)

    def applies(self, wake_model: str) -> bool:
        """Only the wake words whose phrase it knows are checked (others pass unchecked)."""
        return wake_model in self._phrases

    def check(self, audio: np.ndarray, wake_model: str) -> CheckVerdict:
        """`audio`: float32 16 kHz, the seconds before the fire (`wake_window`)."""
        phrase = self._phrases[wake_model]
        score, heard = phrase_score(self._model_of(), audio, phrase, self.frames, self.prefix_words)
        return CheckVerdict(score >= self.threshold, score, heard)


def phrase_score(
    model: Any, audio: np.ndarray, phrase: str, frames: int, prefix_words: int = PREFIX_WORDS
) -> tuple[float, str]:
    """(best mean log-probability of the phrase's tokens, Whisper's own text) for `audio` in a
    `frames`-long encoder window (Whisper's own is 3000, 30 s; a short one costs a tenth). The
    phrase is scored at the start and after each of the first `prefix_words` tokens Whisper
    decoded there (speech may come before it in the window)."""
    import ctranslate2
    from faster_whisper.tokenizer import Tokenizer

    tokenizer = Tokenizer(model.hf_tokenizer, True, task="transcribe", language="zh")
    start = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
    window = np.zeros(frames * HOP + HOP, dtype=np.float32)
    kept = np.asarray(audio, dtype=np.float32)[: frames * HOP]
    window[: len(kept)] = kept
    mel = model.feature_extractor(window, padding=0)[:, :frames]
    features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None]))
    encoded = model.model.encode(features, to_cpu=False)
    free = model.model.generate(
        encoded, [start], max_length=len(start) + 24, suppress_blank=True, suppress_tokens=[-1]
    )[0]
    heard = [i for i in free.sequences_ids[0] if i < tokenizer.eot]
    wanted = tokenizer.encode(phrase)
    spoken = max(1, min(len(kept) // HOP, frames))
    best = -np.inf
    for words in range(min(len(heard), prefix_words) + 1):
        aligned = model.model.align(encoded, start, [heard[:words] + wanted], spoken)[0]
        probs = np.asarray(aligned.text_token_probs[words:], dtype=np.float64)
        best = max(best, float(np.log(np.maximum(probs, 1e-9)).mean()))
    return best, tokenizer.decode(heard).strip()

CHECK_FRAMES = 300  # encoder window: 3 s, a tenth of Whisper's own (scripts/bench wake-verify)


def make_wake_check(settings: WakeSettings, asr: object, config_file: str) -> WakeCheck | None:
    """The configured second stage, scoring with the ASR's own Whisper model (no second copy);
    ConfigError if wake.verify asks for Whisper and the ASR is another backend."""
    if settings.verify == "off":
        return None
    model_of = whisper_model_of(asr)
    if model_of is None:
        raise ConfigError(
            config_file, "wake.verify", "whisper needs asr.backend whisper (it uses that model)"
        )
    return WhisperPhraseCheck(model_of, settings.verify_threshold, CHECK_FRAMES)


def whisper_model_of(asr: object) -> Callable[[], Any] | None:
    """How to reach the ASR's faster-whisper model: at once, or (asr.load first-request) by
    loading it on the ASR worker at the first check. None if the ASR is not Whisper."""
    from daemon.asr.lazy import LazyTranscriber
    from daemon.asr.whisper import WhisperTranscriber

    if isinstance(asr, WhisperTranscriber):
        return lambda: asr.model
    if isinstance(asr, LazyTranscriber) and asr.name == "whisper":
        return lambda: cast(WhisperTranscriber, asr.backend()).model
    return None
