"""What `describe` answers: the programs, models, voices and wake phrases this server offers,
and how a requested voice maps onto the persona the synthesizer speaks with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    Info,
    TtsProgram,
    TtsVoice,
    WakeModel,
    WakeProgram,
)
from wyoming.tts import SynthesizeVoice

from daemon import __version__
from daemon.config import Persona, Voice
from daemon.wyoming.engines import Engines, wake_phrase

__all__ = [
    "ESPEAK_VOICES",
    "about",
    "build_info",
    "persona_for_voice",
    "streams_transcripts",
    "wake_program",
]


@dataclass(frozen=True)
class Backend:
    maker: str
    url: str
    languages: tuple[str, ...]
    description: str


ASR_BACKENDS = {
    "pocketsphinx": Backend(
        "CMU Sphinx", "https://github.com/cmusphinx/pocketsphinx", ("en",), "offline English"
    ),
    "paraformer-zh": Backend(
        "FunASR", "https://github.com/modelscope/FunASR", ("zh", "en"), "Paraformer (Mandarin)"
    ),
    "paraformer-zh-streaming": Backend(
        "FunASR", "https://github.com/modelscope/FunASR", ("zh",), "streaming Paraformer"
    ),
    "sensevoice-small": Backend(
        "FunASR",
        "https://github.com/modelscope/FunASR",
        ("zh", "en", "yue", "ja", "ko"),
        "SenseVoice Small (multilingual)",
    ),
    "whisper": Backend(
        "OpenAI", "https://github.com/openai/whisper", ("zh", "en"), "Whisper (faster-whisper)"
    ),
    "remote": Backend("voiced", "", ("zh", "en"), "a voiced serve server"),
}
STREAMING_ASR = {"pocketsphinx", "paraformer-zh-streaming"}
ESPEAK = Backend("eSpeak NG", "https://github.com/espeak-ng/espeak-ng", (), "espeak-ng")
CHATTTS = Backend("2noise", "https://github.com/2noise/ChatTTS", ("zh", "en"), "ChatTTS")
OPENWAKEWORD = Backend("openWakeWord", "https://github.com/dscripka/openWakeWord", (), "")
VOICED = Backend("voiced", "", (), "voiced smart speaker")
# espeak-ng voices offered, and their language. `cmn` reads Chinese as spelled-out pinyin on
# espeak-ng 1.51 (Debian 12); `cmn-latn-pinyin` says it right.
ESPEAK_VOICES = {"en-us": "en", "en-gb": "en", "cmn-latn-pinyin": "zh"}
LANGUAGE_VOICES = {"en": "en-us", "zh": "cmn-latn-pinyin"}


def _asr_key(engines: Engines) -> str:
    transcriber = engines.transcriber
    name = transcriber.name if transcriber else ""
    return engines.asr_model if name == "funasr" else name


def streams_transcripts(engines: Engines) -> bool:
    """Whether the ASR recognizes while audio arrives (and so can send transcript chunks)."""
    return _asr_key(engines) in STREAMING_ASR


def about(name: str, backend: Backend, description: str, ours: bool = False) -> dict[str, Any]:
    """The fields every artifact in `info` has; `ours` = a program of voiced (its version)."""
    return {
        "name": name,
        "attribution": Attribution(name=backend.maker, url=backend.url),
        "installed": True,
        "description": description,
        "version": __version__ if ours else None,
    }


def _asr(engines: Engines) -> list[AsrProgram]:
    if engines.transcriber is None:
        return []
    key = _asr_key(engines)
    backend = ASR_BACKENDS.get(key, ASR_BACKENDS["remote"])
    languages = [engines.asr_language] if engines.asr_language else list(backend.languages)
    model = AsrModel(**about(key, backend, backend.description), languages=languages)
    description = f"voiced speech recognition ({backend.description})"
    program = AsrProgram(
        **about(f"voiced-{key}", backend, description, ours=True),
        models=[model],
        supports_transcript_streaming=key in STREAMING_ASR,
    )
    return [program]


def _voices(engines: Engines) -> list[TtsVoice]:
    persona = engines.persona
    if engines.tts_backend != "espeak":
        return [
            TtsVoice(
                **about(persona.name, CHATTTS, f"{persona.name}'s voice"), languages=["zh", "en"]
            )
        ]
    own = {persona.voice.espeak: persona.language} if persona.voice.espeak else {}
    return [
        TtsVoice(**about(name, ESPEAK, f"espeak-ng {name}"), languages=[language])
        for name, language in {**own, **ESPEAK_VOICES}.items()
    ]


def _tts(engines: Engines) -> list[TtsProgram]:
    if engines.synthesizer is None:
        return []
    backend = ESPEAK if engines.tts_backend == "espeak" else CHATTTS
    description = f"voiced speech synthesis ({backend.description})"
    program = TtsProgram(
        **about(f"voiced-{engines.tts_backend}", backend, description, ours=True),
        voices=_voices(engines),
        supports_synthesize_streaming=True,
    )
    return [program]


def wake_program(names: list[str], languages: list[str]) -> WakeProgram:
    """openWakeWord models with the phrase a person says (Home Assistant matches on it)."""
    models = [
        WakeModel(
            **about(name, OPENWAKEWORD, f"openWakeWord {name}"),
            languages=list(languages),
            phrase=wake_phrase(name),
        )
        for name in names
    ]
    description = "voiced wake word detection (openWakeWord)"
    return WakeProgram(
        **about("voiced-openwakeword", OPENWAKEWORD, description, ours=True), models=models
    )


def _wake(engines: Engines) -> list[WakeProgram]:
    if engines.wake is None:
        return []
    return [wake_program([engines.wake.name], engines.wake_languages)]


def build_info(engines: Engines) -> Info:
    """Built once at start-up: `describe` is answered from memory, well within a second."""
    return Info(asr=_asr(engines), tts=_tts(engines), wake=_wake(engines))


def _language(code: str | None) -> str | None:
    """zh-CN, zh_Hans, cmn -> zh; en-US -> en; anything else None."""
    if not code:
        return None
    head = code.replace("_", "-").split("-")[0].lower()
    return {"zh": "zh", "cmn": "zh", "en": "en"}.get(head)


def persona_for_voice(base: Persona, voice: SynthesizeVoice | None, tts_backend: str) -> Persona:
    """The persona with the requested voice: an espeak-ng voice by name, or a language."""
    if voice is None or (voice.name is not None and voice.name == base.voice.espeak):
        return base
    if tts_backend == "espeak" and voice.name in ESPEAK_VOICES:
        return _with(base, ESPEAK_VOICES[voice.name], voice.name)
    language = _language(voice.language) or (
        _language(voice.name) if tts_backend != "espeak" else None
    )
    if language is None or language == base.language:
        return base  # the persona's own voice for its own language
    return _with(base, language, LANGUAGE_VOICES[language])


def _with(base: Persona, language: str, espeak: str | None) -> Persona:
    voice: Voice = base.voice.model_copy(update={"espeak": espeak})
    return base.model_copy(update={"language": language, "voice": voice})
