"""espeak-ng: tiny, fast (~1000x real time), English and Mandarin; the zero-download TTS and the
fallback voice that speaks errors when everything else has failed. The call itself lives in
daemon.synth.espeak (one piece of code runs espeak-ng); Mandarin is `cmn-latn-pinyin` there."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

from daemon.audio.frames import AudioChunk
from daemon.config import EspeakSettings, Persona
from daemon.errors import ConfigError, ErrorCode, StageError
from daemon.synth.espeak import (
    LANGUAGE_VOICES,
    EspeakError,
    EspeakTimeout,
    WarmEspeak,
    espeak_command,
)

DEFAULT_VOICES = LANGUAGE_VOICES


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
        self._warm = WarmEspeak()  # the next sentence's process, started ahead

    def synthesize(self, text: str, persona: Persona) -> Iterator[AudioChunk]:
        try:
            cmd = espeak_command(self._voice(persona), rate=self._rate, executable=self._executable)
            samples, rate = self._warm.speak(cmd, text, self._timeout)
        except EspeakTimeout as exc:
            raise StageError(ErrorCode.TTS_TIMEOUT, str(exc)) from None
        except EspeakError as exc:
            raise StageError(ErrorCode.TTS_FAILED, str(exc)) from exc
        yield AudioChunk(samples, rate)

    def prepare(self, persona: Persona) -> None:
        """Start the process for this persona's first sentence now (start-up, not a reply)."""
        try:
            cmd = espeak_command(self._voice(persona), rate=self._rate, executable=self._executable)
        except EspeakError:
            return  # the first sentence reports it
        self._warm.prepare(cmd)

    def close(self) -> None:
        self._warm.close()

    @staticmethod
    def _voice(persona: Persona) -> str:
        return persona.voice.espeak or DEFAULT_VOICES.get(persona.language, "en-us")
