"""The one place that runs espeak-ng: the TTS fallback, spoken errors, test audio and wake-word
training data all come through `run_espeak`.

Mandarin always goes through the voice `cmn-latn-pinyin`. On Debian 12 (espeak-ng 1.51) the voice
`cmn` reads most characters as English-spelled pinyin (`espeak-ng -v cmn -x 你好` switches to
`(en)`), so a request for `zh` or `cmn` is mapped to the voice that says them right.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from functools import lru_cache

import numpy as np
import soundfile as sf
import soxr

MANDARIN_VOICE = "cmn-latn-pinyin"
# Names that mean "Mandarin" to a caller; all of them are spoken with the working voice.
_MANDARIN_NAMES = frozenset({"zh", "zh-cn", "zh-cmn", "cmn", "mandarin", "chinese"})
LANGUAGE_VOICES = {"en": "en-us", "zh": MANDARIN_VOICE}
ESPEAK_RATE = 22050


class EspeakError(Exception):
    """espeak-ng is missing, failed, or produced no audio."""


class EspeakTimeout(EspeakError):
    pass


def espeak_voice(voice: str, variant: str | None = None) -> str:
    """The espeak-ng voice argument for `voice` (a language code or a voice name) and an
    optional variant (`klatt`, `f3`, ...), with every Mandarin name mapped to cmn-latn-pinyin."""
    name, _, own_variant = voice.partition("+")
    mandarin = name.lower() in _MANDARIN_NAMES
    name = MANDARIN_VOICE if mandarin else LANGUAGE_VOICES.get(name, name)
    chosen = variant or own_variant
    return f"{name}+{chosen}" if chosen else name


@lru_cache(maxsize=4)
def known_voices(executable: str) -> frozenset[str]:
    """Every name espeak-ng accepts for -v: languages, voice names and files (lower case).

    espeak-ng silently falls back to its default voice for an unknown name, so a typo in a
    persona would speak Mandarin with an English voice; run_espeak refuses it instead.
    """
    listing = subprocess.run(
        [executable, "--voices"], capture_output=True, text=True, timeout=10, check=False
    ).stdout
    names: set[str] = set()
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 5:
            names.update({fields[1], fields[3], fields[4], fields[4].split("/")[-1]})
            names.update(re.findall(r"\(([^ )]+) \d+\)", line))
    return frozenset(name.lower() for name in names)


def run_espeak(
    text: str,
    voice: str,
    *,
    rate: int = 175,
    pitch: int = 50,
    word_gap: int = 0,
    variant: str | None = None,
    executable: str = "espeak-ng",
    timeout: float = 30.0,
) -> tuple[np.ndarray, int]:
    """Speak `text` and return (float32 mono samples, sample rate) as espeak-ng made them."""
    found = shutil.which(executable)
    if found is None:
        raise EspeakError(f"{executable} not found; install it (Debian: apt-get install espeak-ng)")
    chosen = espeak_voice(voice, variant)
    voices = known_voices(found)
    if voices and chosen.partition("+")[0].lower() not in voices:
        raise EspeakError(f"espeak-ng has no voice {chosen!r} (`espeak-ng --voices` lists them)")
    cmd = [
        found,
        "-v",
        chosen,
        "-s",
        str(rate),
        "-p",
        str(pitch),
        "-g",
        str(word_gap),
        "--stdout",
        "--stdin",
    ]
    try:
        done = subprocess.run(
            cmd, input=text.encode("utf-8"), capture_output=True, timeout=timeout, check=True
        )
        samples, sample_rate = sf.read(io.BytesIO(done.stdout), dtype="float32", always_2d=True)
    except subprocess.TimeoutExpired:
        raise EspeakTimeout(f"espeak-ng took over {timeout:g} s") from None
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode("utf-8", "replace").strip()
        raise EspeakError(f"espeak-ng failed (voice {cmd[2]}): {stderr or exc}") from exc
    except (sf.LibsndfileError, OSError) as exc:
        raise EspeakError(f"espeak-ng failed: {exc}") from exc
    return samples.mean(axis=1).astype(np.float32), int(sample_rate)


def espeak_speech(
    text: str,
    voice: str,
    *,
    rate: int = 175,
    pitch: int = 50,
    word_gap: int = 0,
    variant: str | None = None,
    sample_rate: int = 16000,
) -> np.ndarray:
    """espeak-ng speech as float32 mono in [-1, 1] at `sample_rate`.

    `voice` is a language (`en`, `zh`) or an espeak voice name (`en-us`, `en-gb+f3`); `rate` is
    words per minute, `pitch` 0-99, `word_gap` extra pause between words in 10 ms units.
    """
    samples, native_rate = run_espeak(
        text, voice, rate=rate, pitch=pitch, word_gap=word_gap, variant=variant
    )
    if native_rate != sample_rate:
        samples = soxr.resample(samples, native_rate, sample_rate).astype(np.float32)
    return np.clip(samples, -1.0, 1.0)
