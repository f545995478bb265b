"""`voiced doctor`: everything `voiced check` does, and what a new box trips on, one line each.

Each check returns Checks instead of raising, so every problem is reported in one run: every
missing model (not just the first), an LLM that is down, lacks the model or refuses the key (with
the server's own words), missing espeak-ng voices, a microphone or speaker that does not open,
a full disk. Exit code: 0 all ok (warnings allowed), 1 something fails, 78 a config error (which
the CLI reports before any check runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from daemon.config import LlmEndpoint, LlmTimeouts, Settings
from daemon.errors import ConfigError

Status = Literal["ok", "warn", "fail"]
MIN_FREE_BYTES = 200_000_000  # below this, a turn log or a model update fails
LOW_FREE_BYTES = 2_000_000_000  # the full models take about this much
MIC_SECONDS = 0.5


@dataclass(frozen=True)
class Check:
    status: Status
    name: str
    text: str

    def line(self) -> str:
        return f"{self.status.upper():4}  {self.name}: {self.text}"


def exit_code(checks: list[Check]) -> int:
    return 1 if any(c.status == "fail" for c in checks) else 0


def _attempt(name: str, build: Callable[[], object], ok: str) -> Check:
    """Run one loader; any failure is a line, never a traceback."""
    from daemon.models.errors import ModelMissing

    try:
        build()
    except (ModelMissing, ConfigError) as err:
        return Check("fail", name, str(err))
    except Exception as err:  # a backend library failing to load is a finding, not a crash
        return Check("fail", name, f"{type(err).__name__}: {err}")
    return Check("ok", name, ok)


# --- models ------------------------------------------------------------------------------------


def check_models(settings: Settings) -> list[Check]:
    """Load each stage's model on its own, so one missing model does not hide the next."""
    from daemon.asr import make_transcriber
    from daemon.tts import make_synthesizer
    from daemon.vad import make_vad
    from daemon.wake import make_wake_detector

    d, models = settings.daemon, settings.models_dir()
    wake = d.wake.model_copy(update={"model": settings.persona.wake_word or d.wake.model})
    hotwords = [settings.persona.name, *settings.persona.hotwords]
    asr = d.asr.funasr.model if d.asr.backend == "funasr" else d.asr.backend
    checks = [
        _attempt("wake word", lambda: make_wake_detector(wake, models), _names(wake.model)),
        _attempt("vad", lambda: make_vad(d.vad, models), d.vad.backend),
        _attempt("asr", lambda: make_transcriber(d.asr, models, hotwords), asr),
        _attempt("tts", lambda: make_synthesizer(d.tts, models), d.tts.backend),
    ]
    if d.tts.backend == "chattts":
        checks.append(check_chattts_assets(models))
    return checks


def check_chattts_assets(models: Path) -> Check:
    """The espeak fallback hides missing ChatTTS assets at load time; name them here."""
    from daemon.models.chattts_assets import ASSET_FILES, FETCH_COMMAND, FOLDER

    folder = models / FOLDER
    missing = [path for path in ASSET_FILES if not (folder / path).is_file()]
    if missing:
        return Check(
            "fail",
            "chattts assets",
            f"{len(missing)} of {len(ASSET_FILES)} missing in {folder} ({', '.join(missing)}); "
            f"fetch them with: {FETCH_COMMAND}",
        )
    return Check("ok", "chattts assets", str(folder))


# --- LLM ---------------------------------------------------------------------------------------


def check_llm(
    endpoint: LlmEndpoint | None, timeouts: LlmTimeouts, client_factory: Any = None
) -> Check:
    """The server answers, lists the model (when it lists models) and accepts the key: one
    1-token completion proves all three; its error carries the server's own text."""
    if endpoint is None:
        return Check("warn", "llm", "none configured (local intents only: time, date, stop)")
    import openai

    from daemon.llm.openai_chat import classify, public_url

    url, key = public_url(endpoint.base_url), endpoint.api_key()
    client = (client_factory or openai.OpenAI)(
        base_url=endpoint.base_url,
        api_key=key,
        max_retries=0,
        timeout=openai.Timeout(timeouts.first_token_seconds, connect=timeouts.connect_seconds),
    )
    try:
        listed = _listed_models(client)
        if listed is not None and endpoint.model not in listed:
            shown = ", ".join(sorted(listed)[:8]) or "none"
            return Check(
                "fail",
                "llm",
                f"model {endpoint.model!r} is not on the server at {url} (it has: {shown})",
            )
        client.chat.completions.create(
            model=endpoint.model,
            messages=[{"role": "user", "content": "ping"}],
            max_tokens=1,
            stream=False,
        )
    except Exception as exc:
        err = classify(exc, url, key)
        return Check("fail", "llm", f"{err.code}: {err.detail}")
    finally:
        with contextlib.suppress(Exception):
            client.close()
    return Check("ok", "llm", f"{endpoint.model} at {url} answers and accepts the key")


def _listed_models(client: Any) -> set[str] | None:
    """The server's model ids; None when it does not implement /models (some don't)."""
    import openai

    try:
        return {model.id for model in client.models.list()}
    except openai.NotFoundError:
        return None


# --- voices, devices, disk ---------------------------------------------------------------------


def check_espeak(settings: Settings) -> Check:
    """espeak-ng speaks errors (and everything, on the zero-download profile): its voice must be
    there."""
    from daemon.tts.espeak import DEFAULT_VOICES

    persona = settings.persona
    voice = persona.voice.espeak or DEFAULT_VOICES.get(persona.language, "en-us")
    executable = shutil.which(settings.daemon.tts.espeak.executable)
    if executable is None:
        return Check("fail", "espeak-ng", "not installed (Debian: apt-get install espeak-ng)")
    try:
        listing = subprocess.run(
            [executable, "--voices"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("fail", "espeak-ng", f"{executable} --voices failed: {exc}")
    names = {line.split()[1].lower() for line in listing.splitlines()[1:] if len(line.split()) > 1}
    if voice.split("+")[0].lower() not in names:  # en-us+klatt: voice en-us, variant klatt
        return Check("fail", "espeak-ng", f"voice {voice!r} is missing (espeak-ng --voices)")
    return Check("ok", "espeak-ng", f"voice {voice}")


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level of int16 samples in dB below full scale (-inf for digital silence)."""
    if samples.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean((samples.astype(np.float64) / 32768.0) ** 2)))
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


async def _record(source: Any, seconds: float) -> np.ndarray:
    blocks: list[np.ndarray] = []
    try:
        async with asyncio.timeout(seconds + 3.0):
            async for frame in source.frames():
                blocks.append(frame.samples)
                if sum(len(b) for b in blocks) >= seconds * 16000:
                    break
    finally:
        await source.close()
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int16)


def device_problem(exc: Exception) -> str:
    from daemon.errors import StageError

    return exc.detail if isinstance(exc, StageError) else f"{type(exc).__name__}: {exc}"


def check_microphone(settings: Settings) -> Check:
    from daemon.audio.pyaudio_io import PyAudioSource

    mic = settings.daemon.audio.input
    try:
        source = PyAudioSource(mic.device, mic.sample_rate, mic.queue_seconds)
        samples = asyncio.run(_record(source, MIC_SECONDS))
    except Exception as exc:
        return Check("fail", "microphone", device_problem(exc))
    level = level_dbfs(samples)
    if level == float("-inf"):
        return Check("warn", "microphone", f"{source.device_name}: opens but hears digital silence")
    return Check("ok", "microphone", f"{source.device_name}: level {level:.0f} dBFS")


def check_speaker(settings: Settings) -> Check:
    from daemon.audio.frames import AudioChunk
    from daemon.audio.pyaudio_io import PyAudioSink

    out = settings.daemon.audio.output
    sink = PyAudioSink(out.device, out.sample_rate)

    async def play_silence() -> None:
        try:
            await sink.play(AudioChunk(np.zeros(1600, dtype=np.float32), 16000))
            await sink.drain()
        finally:
            await sink.close()

    try:
        asyncio.run(play_silence())
    except Exception as exc:
        return Check("fail", "speaker", device_problem(exc))
    return Check("ok", "speaker", f"{sink.device_name}: opens")


def check_space(name: str, folder: Path) -> Check:
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(existing).free
    text = f"{free / 1e9:.1f} GB free for {folder}"
    if free < MIN_FREE_BYTES:
        return Check("fail", name, text)
    return Check("warn" if free < LOW_FREE_BYTES else "ok", name, text)


def _names(model: str | list[str]) -> str:
    """wake.model for a line: one name, or several joined."""
    return model if isinstance(model, str) else ", ".join(model)


def run_checks(settings: Settings, state_dir: Path, audio: bool = True) -> list[Check]:
    """Every check, in the order a person would fix things."""
    from daemon.asr.languages import language_problem

    checks = [
        Check(
            "ok",
            "config",
            f"{settings.config_path} (persona {settings.persona_path}: "
            f"{settings.persona.name}, {settings.persona.language})",
        )
    ]
    problem = language_problem(settings.daemon.asr, settings.persona)  # refused at start-up
    checks += [Check("fail", "config", problem)] if problem else []
    checks += check_models(settings)
    checks.append(check_llm(settings.daemon.llm.endpoint(), settings.daemon.llm.timeouts))
    checks.append(check_espeak(settings))
    if audio:
        checks += [check_microphone(settings), check_speaker(settings)]
    checks.append(check_space("disk (models)", settings.models_dir()))
    checks.append(check_space("disk (state)", state_dir))
    return checks
