"""Which languages each ASR understands, and refusing a persona it cannot hear.

A persona speaks one language; an ASR that does not understand it turns every request into
nonsense for the LLM (pocketsphinx hears English words in Mandarin). So the pair is refused with a
clear message at start-up (exit 78) and at persona reload (the old persona stays).
"""

from __future__ import annotations

from pathlib import Path

from daemon.config import AsrSettings, Persona
from daemon.errors import ConfigError

# None: multilingual (Whisper with the persona's language, or a remote server).
ASR_LANGUAGES: dict[str, frozenset[str]] = {
    "pocketsphinx": frozenset({"en"}),
    "paraformer-zh": frozenset({"zh"}),
    "paraformer-zh-streaming": frozenset({"zh"}),
    "sensevoice-small": frozenset({"zh", "en"}),
}


def asr_name(asr: AsrSettings) -> str:
    return asr.funasr.model if asr.backend == "funasr" else asr.backend


def understood(asr: AsrSettings) -> frozenset[str] | None:
    """The languages the configured ASR understands; None for any."""
    if asr.backend == "whisper":
        fixed = asr.whisper.language
        return frozenset({fixed}) if fixed in ("zh", "en") else None
    return ASR_LANGUAGES.get(asr_name(asr))


def language_problem(asr: AsrSettings, persona: Persona) -> str | None:
    languages = understood(asr)
    if languages is None or persona.language in languages:
        return None
    hint = (
        "use the zero-download-zh profile (Whisper) or asr.backend funasr"
        if persona.language == "zh"
        else "use an ASR that understands it (whisper, sensevoice-small)"
    )
    return (
        f"persona {persona.name!r} speaks {persona.language!r} but the {asr_name(asr)} ASR "
        f"only understands {', '.join(sorted(languages))}: {hint}"
    )


def check_persona_language(asr: AsrSettings, persona: Persona, persona_path: Path) -> None:
    """ConfigError (naming the persona file and its language field) if the ASR cannot hear it."""
    problem = language_problem(asr, persona)
    if problem:
        raise ConfigError(str(persona_path), "language", problem)
