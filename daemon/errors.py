"""Errors that cross stage boundaries carry a stable code.

A stage wraps whatever its library raised exactly once, at its boundary, into a StageError. The
turn machine only ever looks at the code: it decides what is spoken and what the log says.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    WAKE_FAILED = "wake-failed"
    VAD_FAILED = "vad-failed"
    ASR_FAILED = "asr-failed"
    ASR_TIMEOUT = "asr-timeout"
    LLM_NOT_CONFIGURED = "llm-not-configured"
    LLM_UNREACHABLE = "llm-unreachable"
    LLM_TIMEOUT = "llm-timeout"
    LLM_UNAUTHORIZED = "llm-unauthorized"
    LLM_REJECTED = "llm-rejected"
    LLM_FAILED = "llm-failed"
    TTS_FAILED = "tts-failed"
    TTS_TIMEOUT = "tts-timeout"
    PLAYBACK_FAILED = "playback-failed"
    AUDIO_DEVICE = "audio-device"
    MODEL_MISSING = "model-missing"


class StageError(Exception):
    """A failure of one stage of a turn, with a stable code and a human-readable detail."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class ConfigError(Exception):
    """Invalid configuration: names the file, the field and what is wrong. Exit code 78."""

    EXIT_CODE = 78  # EX_CONFIG from sysexits.h; the unit file tells systemd not to restart on it

    def __init__(self, file: str, field: str, reason: str) -> None:
        where = f"{file}: {field}" if field else file
        super().__init__(f"{where}: {reason}")
        self.file = file
        self.field = field
        self.reason = reason


class FileProblem(Exception):
    """A file named on the command line cannot be used: one line and a sysexits code."""

    NO_INPUT, DATA_ERROR, CANNOT_CREATE = 66, 65, 73  # EX_NOINPUT, EX_DATAERR, EX_CANTCREAT

    def __init__(self, exit_code: int, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.exit_code = exit_code
        self.path = path
        self.reason = reason
