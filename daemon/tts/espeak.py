"""espeak-ng: tiny, fast (~1000x real time), English and Mandarin; the zero-download TTS and the
fallback voice that speaks errors when everything else has failed."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator

import soundfile as sf

from daemon.audio.frames import AudioChunk
from daemon.config import EspeakSettings, Persona
from daemon.errors import ConfigError, ErrorCode, StageError

DEFAULT_VOICES = {"en": "en-us", "zh": "cmn"}


class EspeakSynthesizer:
    name = "espeak"

    def __init__(self, settings: EspeakSettings, timeout: float) -> None:
        executable = shutil.which(settings.executable)
        if executable is None:  # a config problem: exit 78, not a traceback and restart loop
            raise ConfigError(
                "voiced.yaml",
                "tts.espeak.executable",
                f"{settings.executable} not found; install it (Debian: apt-get install "
                "espeak-ng), or with another main voice set tts.fallback: none",
            )
        self._executable = executable
        self._rate = settings.rate_wpm
        self._timeout = timeout

    def synthesize(self, text: str, persona: Persona) -> Iterator[AudioChunk]:
        voice = persona.voice.espeak or DEFAULT_VOICES.get(persona.language, "en-us")
        cmd = [self._executable, "-v", voice, "-s", str(self._rate), "--stdout", "--stdin"]
        try:
            done = subprocess.run(
                cmd,
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=self._timeout,
                check=True,
            )
            samples, rate = sf.read(io.BytesIO(done.stdout), dtype="float32")
        except subprocess.TimeoutExpired:
            raise StageError(
                ErrorCode.TTS_TIMEOUT, f"espeak-ng took over {self._timeout:g} s"
            ) from None
        except (subprocess.CalledProcessError, sf.LibsndfileError, OSError) as exc:
            raise StageError(ErrorCode.TTS_FAILED, f"espeak-ng failed: {exc}") from exc
        yield AudioChunk(samples, rate)
