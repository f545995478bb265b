"""Real recorded Mandarin sentences from Debian's gcin-voice package.

gcin-voice holds one recording per syllable and tone for each speaker, in
`/usr/share/gcin-voice/ogg/<bopomofo><tone>/<speaker>.ogg` (44.1 kHz). The folder names are
pypinyin's BOPOMOFO spelling with the tone mark turned into a digit: first tone has no digit,
ˊ -> 2, ˇ -> 3, ˋ -> 4, the neutral ˙ -> 1. Joining syllables with short gaps gives sentences that
Whisper understands: a real human voice for tests and wake-word training, with no download.

A neutral-tone syllable (吗, 的, 了) that the speaker did not record is spoken with the same
syllable's first tone (else another tone). Speaker 3 is the default. Speaker 5 is kept for the
project's own evaluation: nothing may be trained, tuned or chosen on it, so it is refused unless
the caller says `evaluation=True`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from daemon.tts.normalize import normalize

GCIN_ROOT = Path("/usr/share/gcin-voice/ogg")
DEFAULT_SPEAKER = 3
EVALUATION_SPEAKER = 5
PUNCTUATION_PAUSE = 0.25  # seconds of silence for a comma or full stop
_TONE_DIGITS = {"ˊ": "2", "ˇ": "3", "ˋ": "4", "˙": "1"}
_BOPOMOFO = re.compile(r"^[\u3105-\u312f\u02ca\u02c7\u02cb\u02d9]+$")
_PAUSE = re.compile(r"^[\s\W_]+$")  # punctuation and whitespace only (not letters or digits)
_PEAK = 0.7  # every syllable is brought to this peak, so no single one shouts


class GcinError(Exception):
    """The Mandarin sentence cannot be made."""


class GcinVoiceMissing(GcinError):
    pass


class SyllableMissing(GcinError):
    pass


class ReservedSpeaker(GcinError):
    pass


def syllable_folder(bopomofo: str) -> str:
    """pypinyin BOPOMOFO (`ㄋㄧˇ`, `ㄇㄚ˙`) -> gcin folder name (`ㄋㄧ3`, `ㄇㄚ1`)."""
    tone = next((_TONE_DIGITS[mark] for mark in bopomofo if mark in _TONE_DIGITS), "")
    return "".join(ch for ch in bopomofo if ch not in _TONE_DIGITS) + tone


def _pieces(text: str) -> list[str | None]:
    """The sentence as gcin folder names, with None where punctuation asks for a pause."""
    from pypinyin import Style, pinyin

    spoken = normalize(text, "zh")  # "3点" -> "三点": digits have no recording
    pieces: list[str | None] = []
    for (segment,) in pinyin(spoken, style=Style.BOPOMOFO, errors="default"):
        if _BOPOMOFO.match(segment):
            pieces.append(syllable_folder(segment))
        elif _PAUSE.match(segment):
            if any(not ch.isspace() for ch in segment):
                pieces.append(None)
        else:
            said = segment.strip()
            raise SyllableMissing(f"gcin-voice can only say Chinese characters, not {said!r}")
    return pieces


@lru_cache(maxsize=4096)
def _syllable(path: Path, sample_rate: int) -> np.ndarray:
    samples, native_rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    loud = np.flatnonzero(np.abs(mono) > 0.01 * max(float(np.abs(mono).max()), 1e-9))
    if loud.size:
        mono = mono[loud[0] : loud[-1] + 1]
    if native_rate != sample_rate:
        mono = soxr.resample(mono, native_rate, sample_rate)
    peak = float(np.abs(mono).max()) if mono.size else 0.0
    scaled = mono * (_PEAK / peak) if peak > 0 else mono
    scaled = np.asarray(scaled, dtype=np.float32)
    scaled.setflags(write=False)  # cached: callers must copy before changing it
    return scaled


def _check_speaker(speaker: int, evaluation: bool) -> None:
    if speaker == EVALUATION_SPEAKER and not evaluation:
        raise ReservedSpeaker(
            "gcin-voice speaker 5 is kept for evaluation only (pass evaluation=True); "
            "use speaker 3 for tests and training"
        )


def _candidates(folder: str) -> list[str]:
    """The folder, then for a neutral tone (often unrecorded) the same syllable's other tones."""
    if not folder.endswith("1"):
        return [folder]
    bare = folder[:-1]
    return [folder, bare, bare + "4", bare + "2", bare + "3"]


def _recording(folder: str, speaker: int, root: Path) -> Path:
    if not root.is_dir():
        raise GcinVoiceMissing(
            f"{root} not found: install the recordings (Debian: apt-get install gcin-voice)"
        )
    for candidate in _candidates(folder):
        path = root / candidate / f"{speaker}.ogg"
        if path.is_file():
            return path
    raise SyllableMissing(f"gcin-voice has no recording of {folder} by speaker {speaker}")


def _varied(value: float, jitter: float, rng: np.random.Generator | None) -> float:
    if jitter == 0.0 or rng is None:
        return value
    return value * (1.0 + float(rng.uniform(-jitter, jitter)))


def mandarin_speech(
    text: str,
    *,
    speaker: int = DEFAULT_SPEAKER,
    gap_seconds: float = 0.05,
    rng: np.random.Generator | None = None,
    jitter: float = 0.0,
    sample_rate: int = 16000,
    evaluation: bool = False,
    root: Path = GCIN_ROOT,
) -> np.ndarray:
    """A Mandarin sentence spoken by a real recorded voice: float32 mono in [-1, 1].

    Syllables are joined with `gap_seconds` of silence (punctuation adds a longer pause).
    `jitter` (0..1) varies each gap and each syllable's loudness by up to that fraction, drawn
    from `rng`, which it needs: varied training data stays reproducible from its seed.
    """
    if not 0.0 <= jitter < 1.0:
        raise ValueError(f"jitter must be in [0, 1), got {jitter}")
    if jitter and rng is None:
        raise ValueError("jitter needs an rng (numpy.random.default_rng(seed))")
    _check_speaker(speaker, evaluation)
    parts: list[np.ndarray] = []
    for folder in _pieces(text):
        pause = PUNCTUATION_PAUSE if folder is None else gap_seconds
        if folder is not None:
            syllable = _syllable(_recording(folder, speaker, root), sample_rate)
            parts.append(syllable * np.float32(min(_varied(1.0, jitter, rng), 1.0 / _PEAK)))
        parts.append(np.zeros(round(_varied(pause, jitter, rng) * sample_rate), np.float32))
    if not any(part.any() for part in parts):
        raise SyllableMissing(f"nothing to say in {text!r}")
    while parts and not parts[-1].any():
        parts.pop()  # no trailing silence: the caller decides the padding
    return np.clip(np.concatenate(parts), -1.0, 1.0).astype(np.float32)
