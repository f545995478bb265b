"""The ASR of a box whose requests are heard by Home Assistant (mode ha-satellite).

Such a box streams its microphone to Home Assistant after the wake word, so it loads no speech
model of its own (Whisper base alone is ~110 MB of a 512 MB box). Nothing in the satellite's
turn asks for one; if something does (the web console's push-to-talk), it gets a stage error that
says why, and the turn ends the way any failed ASR ends it: spoken, the box still listening.
"""

from __future__ import annotations

from daemon.asr.base import TranscriptionSession
from daemon.errors import ErrorCode, StageError


class HeardByHomeAssistant:
    """A Transcriber that never loads a model: requests go to Home Assistant."""

    name = "home-assistant"

    def start(self) -> TranscriptionSession:
        raise StageError(
            ErrorCode.ASR_FAILED,
            "this box sends what it hears to Home Assistant (mode: ha-satellite) and has no "
            "speech recognition of its own",
        )
