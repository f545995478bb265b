"""ChatTTS: the product's Chinese/English voice, loaded once from models_dir/chattts.

The model is only ever loaded with `Chat.load(source="custom")` from a local folder; ChatTTS's
default loader downloads from GitHub, which a daemon must never do. Loading checks every file
against a sha256 map and builds the networks from a `Config` dataclass, so what to check and what
to build travel together as an `AssetSpec`:

- production: ChatTTS's own Config and the sha256 map inside the package (`AssetSpec.packaged`);
- a `voiced-chattts.json` sidecar next to the assets replaces both. The real assets have none;
  tests write one with their tiny random assets, so the real command (`voiced run`) loads them
  through this very code. A sidecar can only change shapes and hashes, never which classes are
  built. Code (tests, benchmarks) may also pass a spec to the constructor directly.

A persona always sounds the same: its speaker is the embedding string from persona.yaml, or is
derived once from a seed and stored in models_dir/chattts/voices/seed-N.txt, so later changes to
torch's random numbers cannot change the voice. Each sentence is sampled with a fixed seed, so the
same text in the same voice gives the same audio.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from daemon.audio.frames import AudioChunk
from daemon.config import ChatttsSettings, ChatttsVoice, Persona
from daemon.errors import ErrorCode, StageError
from daemon.models.chattts_assets import (
    ASSET_FILES,
    FETCH_COMMAND,
    FOLDER,
    SIDECAR,
    asset_hashes,
    packaged_sha256_map,
)
from daemon.models.errors import ModelMissing
from daemon.models.progress import plural
from daemon.tts.normalize import prepare_for_speech

__all__ = ["SIDECAR", "AssetSpec", "ChatttsSynthesizer", "asset_hashes", "default_budget"]

log = logging.getLogger(__name__)
lib_log = logging.getLogger(__name__ + ".lib")  # ChatTTS's own chatter (per-load INFO lines)

SAMPLE_RATE = 24000  # Vocos' rate in every ChatTTS release
DEFAULT_SEED = 0  # the voice of a persona that names neither a speaker nor a seed
WARM_UP_TOKENS = 32
TokenBudget = Callable[[str], tuple[int, int]]  # text -> (min_new_token, max_new_token)


def default_budget(text: str) -> tuple[int, int]:
    """At most ~25 audio tokens (~0.5 s) per character: a runaway generation ends, real speech
    (about 10 tokens per Chinese character, 3-4 per English letter) never hits the cap."""
    return 0, min(2048, 100 + 25 * len(text))


# --- what to load ------------------------------------------------------------------------------


def _build_dataclass(cls: type, data: dict[str, Any], where: str) -> Any:
    """A fresh instance of a ChatTTS config dataclass from JSON; absent keys get fresh defaults.

    Never reuses ChatTTS's class-level default instances: they are shared, and a mutation there
    would change every later Config in the process.
    """
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}")
    values: dict[str, Any] = {}
    for name, field in known.items():
        kind = field.type
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            values[name] = _build_dataclass(kind, data.get(name, {}), f"{where}.{name}")
        elif name == "class_path":
            default = field.default
            if data.get(name, default) != default:
                raise ValueError(f"{where}.class_path: a sidecar may not change classes")
        elif name in data:
            values[name] = tuple(data[name]) if kind is tuple else data[name]
    return cls(**values)


@dataclass(frozen=True)
class AssetSpec:
    """Which networks to build (ChatTTS `Config`) and the sha256 of each asset file."""

    config: Any  # ChatTTS.config.Config (typed loosely: ChatTTS is imported lazily)
    sha256_map: dict[str, str]
    source: str = "packaged"

    @classmethod
    def packaged(cls) -> AssetSpec:
        from ChatTTS.config import Config

        return cls(Config(), packaged_sha256_map())

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str) -> AssetSpec:
        from ChatTTS.config import Config

        config = _build_dataclass(Config, data.get("config", {}), "config")
        return cls(config, dict(data["sha256"]), source)

    def to_json(self) -> dict[str, Any]:
        return {
            "about": "ChatTTS shapes and hashes of non-standard assets (daemon/tts/chattts.py)",
            "config": dataclasses.asdict(self.config),
            "sha256": self.sha256_map,
        }

    @classmethod
    def for_folder(cls, folder: Path) -> AssetSpec:
        """The sidecar's spec if the folder has one, else the packaged one."""
        sidecar = folder / SIDECAR
        if not sidecar.is_file():
            return cls.packaged()
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
            return cls.from_json(data, str(sidecar))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelMissing(f"a valid {SIDECAR} ({exc})", sidecar, FETCH_COMMAND) from exc


# --- the synthesizer ---------------------------------------------------------------------------


class ChatttsSynthesizer:
    """ChatTTS in process. Not thread-safe: one sentence at a time (the TTS worker thread)."""

    name = "chattts"

    def __init__(
        self,
        settings: ChatttsSettings,
        models_dir: Path,
        *,
        spec: AssetSpec | None = None,
        token_budget: TokenBudget = default_budget,
        max_chars: int | None = None,
    ) -> None:
        """Loads the model and runs one warm-up sentence (slow: seconds to a minute).

        The keyword arguments are seams with production defaults: `spec` (which networks and
        hashes) defaults to the folder's sidecar, else the released model's; `token_budget`
        bounds the audio tokens of each piece of text (tests fix min == max for a known
        length); `max_chars` is where long sentences are cut (default: per language).
        Raises ModelMissing when the assets are absent or fail their hash check.
        """
        self.folder = models_dir / FOLDER
        self.stream = settings.stream
        self.refine = settings.refine_text
        self._budget = token_budget
        self._max_chars = max_chars
        self._speakers: dict[int, str] = {}
        self._lock = threading.Lock()
        _require_files(self.folder)
        self._spec = spec or AssetSpec.for_folder(self.folder)
        self.chat = _load(self.folder, self._spec, settings)
        self.hidden_size = int(self._spec.config.gpt.hidden_size)
        self._warm_up()

    # --- voice ---

    def speaker_for_seed(self, seed: int) -> str:
        """The speaker derived from `seed`, made once and then read from voices/seed-N.txt."""
        with self._lock:
            if seed in self._speakers:
                return self._speakers[seed]
            path = self.folder / "voices" / f"seed-{seed}.txt"
            speaker = _read_speaker(path)
            if speaker is not None and self._speaker_problem(speaker):
                log.warning("%s: %s; drawing it again", path, self._speaker_problem(speaker))
                speaker = None
            speaker = speaker or self._derive_speaker(seed, path)
            self._speakers[seed] = speaker
            return speaker

    def sample_speaker(self, seed: int) -> str:
        """A new speaker embedding drawn from `seed` (not stored; `voiced voice sample` uses it).

        The same seed gives the same speaker only while torch's random numbers stay the same,
        which is why a persona's seed voice is stored once it has been drawn.
        """
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            speaker: str = self.chat.sample_random_speaker()
        return speaker

    def _derive_speaker(self, seed: int, path: Path) -> str:
        speaker = self.sample_speaker(seed)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part")
            partial.write_text(speaker + "\n", encoding="utf-8")
            partial.replace(path)
            log.info("ChatTTS voice for seed %d stored in %s", seed, path)
        except OSError as exc:
            log.warning("cannot store the voice for seed %d in %s: %s", seed, path, exc)
        return speaker

    def speaker_for(self, voice: ChatttsVoice) -> str:
        if voice.speaker:
            self._check_speaker(voice.speaker)
            return voice.speaker
        return self.speaker_for_seed(DEFAULT_SEED if voice.seed is None else voice.seed)

    def _check_speaker(self, speaker: str) -> None:
        problem = self._speaker_problem(speaker)
        if problem:
            raise StageError(ErrorCode.TTS_FAILED, f"persona voice.chattts.speaker {problem}")

    def _speaker_problem(self, speaker: str) -> str | None:
        """Why `speaker` cannot be this model's speaker (None: it can)."""
        try:
            size = len(self.chat.speaker._decode(speaker))
        except Exception as exc:
            return f"is not a speaker string ({type(exc).__name__}: {exc})"
        if size != self.hidden_size:
            return f"has {size} values, this model needs {self.hidden_size} (other assets?)"
        return None

    # --- synthesis ---

    def synthesize(self, text: str, persona: Persona) -> Iterator[AudioChunk]:
        voice = persona.voice.chattts
        speaker = self.speaker_for(voice)
        pieces = prepare_for_speech(text, persona.language, self._max_chars)
        produced = False
        for piece in pieces:
            for samples in self._generate(piece, persona.language, voice, speaker):
                produced = True
                yield AudioChunk(samples, SAMPLE_RATE)
        if pieces and not produced:
            raise StageError(ErrorCode.TTS_FAILED, f"ChatTTS produced no audio for {pieces!r}")

    def cancel(self) -> None:
        """Ask a generation running on another thread to stop at its next step."""
        self.chat.interrupt()

    def _generate(
        self,
        text: str,
        language: str,
        voice: ChatttsVoice,
        speaker: str | None,
        budget: tuple[int, int] | None = None,
    ) -> Iterator[np.ndarray]:
        import torch

        seed = DEFAULT_SEED if voice.seed is None else voice.seed
        torch.manual_seed(seed)
        try:
            result = self.chat.infer(
                [text],
                stream=self.stream,
                lang=language,
                skip_refine_text=not self.refine,
                split_text=False,
                params_refine_text=self._refine_params(text, voice, seed),
                params_infer_code=self._code_params(
                    voice, speaker, seed, budget or self._budget(text)
                ),
            )
            for wav in result:
                samples = np.asarray(wav, dtype=np.float32).reshape(-1)
                if samples.size:
                    yield samples
        except StageError:
            raise
        except Exception as exc:
            raise StageError(ErrorCode.TTS_FAILED, f"ChatTTS: {type(exc).__name__}: {exc}") from exc

    def _refine_params(self, text: str, voice: ChatttsVoice, seed: int) -> Any:
        return self.chat.RefineTextParams(
            prompt=f"[oral_{voice.oral}][laugh_{voice.laugh}][break_{voice.pause}]",
            max_new_token=min(384, 20 + 2 * len(text)),
            manual_seed=seed,
            show_tqdm=False,
        )

    def _code_params(
        self, voice: ChatttsVoice, speaker: str | None, seed: int, budget: tuple[int, int]
    ) -> Any:
        low, high = budget
        return self.chat.InferCodeParams(
            prompt=f"[speed_{voice.speed}]",
            spk_emb=speaker,
            temperature=voice.temperature,
            min_new_token=low,
            max_new_token=high,
            manual_seed=seed,
            show_tqdm=False,
        )

    def _warm_up(self) -> None:
        """A short sentence through the code paths a turn uses (numba JIT, allocator, kernels),
        kept to WARM_UP_TOKENS: on a CPU the released model makes ~15 tokens a second."""
        level = lib_log.level
        lib_log.setLevel(logging.ERROR)  # it always hits its token cap: not worth a warning
        try:
            for samples in self._generate("你好", "zh", ChatttsVoice(), None, (0, WARM_UP_TOKENS)):
                del samples
        finally:
            lib_log.setLevel(level)


def _require_files(folder: Path) -> None:
    missing = [path for path in ASSET_FILES if not (folder / path).is_file()]
    if missing:
        raise ModelMissing(
            f"ChatTTS assets ({plural(len(missing), 'file')} missing)", folder, FETCH_COMMAND
        )


def _load(folder: Path, spec: AssetSpec, settings: ChatttsSettings) -> Any:
    import ChatTTS
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Loading weights" bars in the journal
    warnings.filterwarnings(  # ChatTTS 0.2.5 on transformers 5: harmless, once per process
        "ignore", message="`past_key_values` is deprecated", category=FutureWarning
    )
    if lib_log.level == logging.NOTSET:
        lib_log.setLevel(logging.WARNING)
    chat = ChatTTS.Chat(lib_log)
    chat.config = spec.config
    chat.sha256_map = dict(spec.sha256_map)
    if spec.source != "packaged":
        log.warning("ChatTTS: shapes and hashes from %s (not the released model)", spec.source)
    ok = chat.load(
        source="custom",
        custom_path=str(folder),
        device=torch.device(settings.device),
        compile=settings.compile,
    )
    if not ok:
        raise ModelMissing(
            "intact ChatTTS assets (a file failed its sha256 check)", folder, FETCH_COMMAND
        )
    log.info("ChatTTS loaded from %s on %s", folder, settings.device)
    return chat


def _read_speaker(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
