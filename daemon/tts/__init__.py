"""Speech synthesis."""

from __future__ import annotations

import logging
from pathlib import Path

from daemon.config import Persona, TtsSettings, tts_primary_deadline
from daemon.errors import ConfigError, ErrorCode
from daemon.models.errors import ModelMissing
from daemon.tts.base import Synthesizer

__all__ = ["Synthesizer", "make_synthesizer", "primary_deadline"]

log = logging.getLogger(__name__)
primary_deadline = tts_primary_deadline  # see daemon.config.Deadlines


def make_synthesizer(
    settings: TtsSettings, models_dir: Path, persona: Persona | None = None
) -> Synthesizer:
    """The configured voice, levelled and faded (tts.polish); with tts.fallback espeak, wrapped
    so that a failing, slow or missing main voice is replaced by espeak-ng sentence by sentence.
    With `persona`, espeak-ng starts the process for the first reply's sentence now.
    """
    from daemon.tts.espeak import EspeakSynthesizer
    from daemon.tts.polish import PolishedSynthesizer

    if settings.backend == "espeak":
        espeak = EspeakSynthesizer(settings.espeak, settings.timeout_seconds)
        if persona is not None:
            espeak.prepare(persona)
        return PolishedSynthesizer(espeak)
    if settings.backend not in ("chattts", "remote"):
        raise ValueError(f"unknown TTS backend {settings.backend!r}")
    if settings.backend == "remote" and settings.remote is None:
        raise ConfigError("voiced.yaml", "tts.remote", "required for tts.backend remote")
    if settings.fallback == "none":
        return PolishedSynthesizer(_primary(settings, models_dir))
    return PolishedSynthesizer(_with_fallback(settings, models_dir))


def _primary(settings: TtsSettings, models_dir: Path) -> Synthesizer:
    if settings.backend == "remote":
        from daemon.tts.remote import RemoteSynthesizer

        assert settings.remote is not None  # make_synthesizer checked
        return RemoteSynthesizer(settings.remote, settings.timeout_seconds)
    return _chattts(settings, models_dir)


def _chattts(settings: TtsSettings, models_dir: Path) -> Synthesizer:
    from daemon.tts.chattts import ChatttsSynthesizer

    return ChatttsSynthesizer(settings.chattts, models_dir)


def _with_fallback(settings: TtsSettings, models_dir: Path) -> Synthesizer:
    from daemon.tts.espeak import EspeakSynthesizer
    from daemon.tts.fallback import FallbackSynthesizer, Unavailable

    fallback = EspeakSynthesizer(settings.espeak, settings.timeout_seconds)
    deadline = primary_deadline(settings.timeout_seconds)
    try:
        primary = _primary(settings, models_dir)
    except ModelMissing as exc:
        return FallbackSynthesizer(
            None, fallback, deadline, Unavailable(ErrorCode.MODEL_MISSING, str(exc))
        )
    except ImportError as exc:
        reason = Unavailable(ErrorCode.MODEL_MISSING, f"ChatTTS is not installed ({exc})")
        return FallbackSynthesizer(None, fallback, deadline, reason)
    except Exception as exc:  # a broken model must not keep an always-on box from speaking
        log.debug("ChatTTS failed to start", exc_info=True)
        reason = Unavailable(ErrorCode.TTS_FAILED, f"{settings.backend} failed to start: {exc}")
        return FallbackSynthesizer(None, fallback, deadline, reason)
    return FallbackSynthesizer(primary, fallback, deadline)
