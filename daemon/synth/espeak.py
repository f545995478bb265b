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
import threading
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


def espeak_command(
    voice: str,
    *,
    rate: int = 175,
    pitch: int = 50,
    word_gap: int = 0,
    variant: str | None = None,
    executable: str = "espeak-ng",
) -> list[str]:
    """The espeak-ng command line that reads text on stdin and writes a WAV to stdout."""
    found = shutil.which(executable)
    if found is None:
        raise EspeakError(f"{executable} not found; install it (Debian: apt-get install espeak-ng)")
    chosen = espeak_voice(voice, variant)
    voices = known_voices(found)
    if voices and chosen.partition("+")[0].lower() not in voices:
        raise EspeakError(f"espeak-ng has no voice {chosen!r} (`espeak-ng --voices` lists them)")
    return [
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
    cmd = espeak_command(
        voice, rate=rate, pitch=pitch, word_gap=word_gap, variant=variant, executable=executable
    )
    return _speak(_start(cmd), cmd[2], text, timeout)


def _start(cmd: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _speak(
    process: subprocess.Popen[bytes], voice: str, text: str, timeout: float
) -> tuple[np.ndarray, int]:
    """Hand `text` to an espeak-ng started for `voice` and read its WAV."""
    try:
        stdout, stderr = process.communicate(text.encode("utf-8"), timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise EspeakTimeout(f"espeak-ng took over {timeout:g} s") from None
    if process.returncode != 0:
        detail = stderr.decode("utf-8", "replace").strip() or f"exit status {process.returncode}"
        raise EspeakError(f"espeak-ng failed (voice {voice}): {detail}")
    try:
        samples, sample_rate = sf.read(io.BytesIO(stdout), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, OSError) as exc:
        raise EspeakError(f"espeak-ng failed: {exc}") from exc
    return samples.mean(axis=1).astype(np.float32), int(sample_rate)


class WarmEspeak:
    """espeak-ng started one sentence ahead.

    Most of espeak-ng's time for a short sentence is starting up and loading its voice data
    (~40 of ~50 ms on a busy 2-core box; a started process that is handed the text answers in
    ~5 ms). So after each sentence the next process is started with the same voice and left
    waiting for its text on stdin: the reply's first sentence does not wait for a start-up. A
    process started for another voice (the persona changed) is stopped and replaced. Callers
    on several threads (a Wyoming server's connections) each take their own process: one
    waiting process goes to one of them; `close()` stops it.
    """

    def __init__(self) -> None:
        self._spare: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def prepare(self, cmd: list[str]) -> None:
        """Start a process for `cmd` to wait for the next sentence (if none is waiting)."""
        with self._lock:
            spare = self._spare
            if spare is not None and spare.args == cmd and spare.poll() is None:
                return
        self.close()
        try:
            started = _start(cmd)
        except OSError:
            return  # the next sentence starts its own and reports the error
        with self._lock:
            spare, self._spare = self._spare, started
        if spare is not None:
            _stop(spare)

    def speak(self, cmd: list[str], text: str, timeout: float) -> tuple[np.ndarray, int]:
        """(float32 samples, rate) of `text` spoken by `cmd`; prepares the next process."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and (spare.args != cmd or spare.poll() is not None):
            _stop(spare)
            spare = None
        try:
            process = spare or _start(cmd)
        except OSError as exc:
            raise EspeakError(f"espeak-ng failed: {exc}") from exc
        try:
            return _speak(process, cmd[2], text, timeout)
        finally:
            self.prepare(cmd)

    def close(self) -> None:
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            _stop(spare)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.communicate()


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
