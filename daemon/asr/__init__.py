"""Speech recognition."""

from __future__ import annotations

from pathlib import Path

from daemon.asr.base import Transcriber, Transcript, TranscriptionSession
from daemon.config import AsrSettings
from daemon.errors import ConfigError
from daemon.host.memory import disable_mkl_buffer_cache

__all__ = ["Transcriber", "Transcript", "TranscriptionSession", "make_transcriber"]


def make_transcriber(
    settings: AsrSettings,
    models_dir: Path,
    hotwords: list[str] | None = None,
    language: str | None = None,
) -> Transcriber:
    """Build the configured backend. `hotwords` (the persona's name ...) help backends that can;
    `language` is the persona's, for backends that take one (Whisper). With asr.load
    first-request an in-process model loads at the first request (daemon.asr.lazy)."""
    if settings.backend == "whisper":
        disable_mkl_buffer_cache()  # before CTranslate2's MKL allocates (daemon.host.memory)
    if settings.load == "first-request" and settings.backend in ("pocketsphinx", "whisper"):
        return _lazy(settings, models_dir, hotwords, language)
    return _build(settings, models_dir, hotwords, language)


def _lazy(
    settings: AsrSettings, models_dir: Path, hotwords: list[str] | None, language: str | None
) -> Transcriber:
    from daemon.asr.lazy import LazyTranscriber

    if settings.backend == "whisper":  # a missing model still stops start-up (exit 78)
        from daemon.asr.whisper import check_model
        from daemon.models.whisper import model_dir

        check_model(model_dir(models_dir, settings.whisper.model), settings.whisper.model)
    return LazyTranscriber(
        settings.backend, lambda: _build(settings, models_dir, hotwords, language)
    )


def _build(
    settings: AsrSettings, models_dir: Path, hotwords: list[str] | None, language: str | None
) -> Transcriber:
    if settings.backend == "pocketsphinx":
        from daemon.asr.pocketsphinx import PocketsphinxTranscriber

        return PocketsphinxTranscriber(settings.pocketsphinx)
    if settings.backend == "funasr":
        from daemon.asr.funasr import FunasrTranscriber

        return FunasrTranscriber(settings.funasr, models_dir, hotwords)
    if settings.backend == "whisper":
        from daemon.asr.whisper import WhisperTranscriber

        return WhisperTranscriber(settings.whisper, models_dir, hotwords, language)
    if settings.backend == "remote":
        from daemon.asr.remote import RemoteTranscriber

        if settings.remote is None:
            raise ConfigError("voiced.yaml", "asr.remote", "required for asr.backend remote")
        return RemoteTranscriber(settings.remote, settings.timeout_seconds)
    raise ValueError(f"unknown ASR backend {settings.backend!r}")
