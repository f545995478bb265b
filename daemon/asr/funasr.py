"""FunASR in process: SeACo Paraformer (hotwords), SenseVoiceSmall, or streaming Paraformer.

Each model is loaded once, at start-up, from models_dir/funasr/<name>/ as `voiced models fetch
funasr` leaves it. Only a local folder is ever handed to AutoModel: a hub name makes FunASR go to
the network (offline it retries for ~25 s, then fails with a misleading "not registered"), and
disable_update keeps it from asking PyPI for a newer version. A warm-up decode in the constructor
pays FunASR's lazy start-up costs before READY, not in the first turn.

Inference runs on the caller's thread (the turn machine's ASR worker): feed() and finish() are
plain blocking calls. The offline models buffer in feed() and decode in finish(); the streaming
model decodes every 600 ms of audio as it arrives, so finish() only has the tail left to do.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from daemon.asr.base import Transcript, TranscriptionSession, stage_boundary
from daemon.audio.frames import SAMPLE_RATE
from daemon.config import FunasrSettings
from daemon.errors import StageError
from daemon.models.errors import ModelDamaged, ModelMissing

__all__ = [
    "FETCH_COMMAND",
    "FunasrTranscriber",
    "ModelUnusable",
    "check_model",
    "import_funasr",
    "load_model",
    "model_dir",
    "needed_models",
]

log = logging.getLogger(__name__)

FETCH_COMMAND = "voiced models fetch funasr"
PUNCTUATION_MODEL = "ct-punc"
STREAM_CHUNK_SAMPLES = 9600  # 600 ms: chunk_size[1] = 10 encoder frames of 60 ms
STREAM_OPTIONS: dict[str, Any] = {
    "chunk_size": [0, 10, 5],
    "encoder_chunk_look_back": 4,
    "decoder_chunk_look_back": 1,
}
MIN_SAMPLES = 400  # one 25 ms analysis window; FunASR's fbank asserts on less
MAX_UTTERANCE_SECONDS = 60.0  # the offline buffer's bound; the endpointer's cap is far below
WARMUP_SECONDS = 1.0
SENSEVOICE_LANGUAGES = ("zh", "en", "yue", "ja", "ko")
_TAG = re.compile(r"<\|([^|]*)\|>")  # SenseVoice's <|zh|><|HAPPY|><|Speech|><|woitn|> ...
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


class ModelUnusable(ModelDamaged):
    """FunASR cannot load or run the files (corrupt, truncated, wrong kind); exit 78."""

    def __init__(self, what: str, path: Path, reason: str) -> None:
        super().__init__(what, path, reason, FETCH_COMMAND)


# --- where the models are ----------------------------------------------------------------------


def model_dir(models_dir: Path, name: str) -> Path:
    return models_dir / "funasr" / name


def needed_models(settings: FunasrSettings) -> list[str]:
    """The model folders a configuration loads (what `voiced models fetch funasr` should get)."""
    names: list[str] = [settings.model]
    if settings.punctuation and settings.model != "sensevoice-small":
        names.append(PUNCTUATION_MODEL)  # SenseVoice punctuates by itself
    return names


def _meta_paths(metas: Any) -> Iterator[str]:
    """The relative file names in configuration.json's file_path_metas (nested mappings)."""
    if isinstance(metas, dict):
        for value in metas.values():
            yield from _meta_paths(value)
    elif isinstance(metas, str):
        yield metas


def _required_files(folder: Path, what: str) -> list[Path]:
    files = [folder / "config.yaml", folder / "model.pt"]
    meta = folder / "configuration.json"
    if meta.is_file():
        try:
            metas = json.loads(meta.read_text(encoding="utf-8")).get("file_path_metas", {})
        except (OSError, ValueError, AttributeError) as exc:
            raise ModelUnusable(what, folder, f"configuration.json is unreadable: {exc}") from exc
        files += [folder / name for name in _meta_paths(metas)]
    return list(dict.fromkeys(files))


def check_model(folder: Path, name: str) -> None:
    """Raise ModelMissing unless `folder` holds config.yaml, model.pt and the files they name."""
    what = f"FunASR model {name}"
    if not folder.is_dir():
        raise ModelMissing(what, folder, FETCH_COMMAND)
    missing = [path.name for path in _required_files(folder, what) if not path.is_file()]
    if missing:
        raise ModelMissing(f"{what} ({', '.join(missing)})", folder, FETCH_COMMAND)


# --- loading -----------------------------------------------------------------------------------


class _DropLibraryChatter(logging.Filter):
    """FunASR logs through the root logger itself (logging.info(...)), per load and per call.

    Attached to the root logger, this filter sees only records logged directly on it, so it drops
    FunASR's below ERROR and leaves every named logger (the daemon's own) alone.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or "/funasr/" not in record.pathname


_CHATTER_FILTER = _DropLibraryChatter()


@contextlib.contextmanager
def _contained() -> Iterator[None]:
    """Keep FunASR's global side effects out of the daemon while importing or loading it.

    Its import calls logging.basicConfig (funasr.bin.realtime_ws) and AutoModel() calls it again;
    both would configure the root logger of a process that has not done so yet. It also prints
    notices (ffmpeg, its version) to stdout, which `voiced transcribe` uses for the transcript.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    if _CHATTER_FILTER not in root.filters:
        root.addFilter(_CHATTER_FILTER)
    logging.getLogger("jieba").setLevel(logging.WARNING)  # ct-punc's segmenter is chatty too
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            yield
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)
        lines = [line.strip() for line in printed.getvalue().splitlines() if line.strip()]
        if lines:
            log.debug("funasr printed: %s", " | ".join(lines))


def import_funasr() -> Any:
    """FunASR's AutoModel class, imported with its side effects contained (seconds, ~450 MB)."""
    with _contained():
        from funasr import AutoModel
    return AutoModel


def _warn_if_no_gpu(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            log.warning("asr.funasr.device is %s but CUDA is not available: running on CPU", device)


def load_model(folder: Path, settings: FunasrSettings) -> Any:
    """One FunASR AutoModel from a local folder (checked first); ModelUnusable if it won't load."""
    name = folder.name
    check_model(folder, name)
    auto_model = import_funasr()
    try:
        with _contained():
            return auto_model(
                model=str(folder.resolve()),  # a path, never a hub name or alias
                disable_update=True,
                device=settings.device,
                ncpu=settings.threads,
                disable_pbar=True,
                disable_log=True,
                log_level="WARNING",
            )
    except Exception as exc:
        raise ModelUnusable(f"FunASR model {name}", folder, f"{type(exc).__name__}: {exc}") from exc


# --- text --------------------------------------------------------------------------------------


def tidy(text: str) -> str:
    """One space between words, none between Chinese characters, no <unk> markers.

    SeACo Paraformer returns its characters separated by spaces ("今 天 天 气").
    """
    text = " ".join(text.replace("<unk>", " ").split())
    return _CJK_GAP.sub("", text)


def join_chunks(texts: list[str]) -> str:
    """Streaming pieces in order; a space only where two Latin words would otherwise touch."""
    joined = ""
    for piece in (t.strip() for t in texts):
        if not piece:
            continue
        if joined and _latin(joined[-1]) and _latin(piece[0]):
            joined += " "
        joined += piece
    return joined


def _latin(char: str) -> bool:
    return char.isascii() and char.isalnum()


def sensevoice_text(raw: str) -> tuple[str, str | None]:
    """SenseVoice's text without its tags, and the language its tag names (if any)."""
    tags = _TAG.findall(raw)
    language = next((tag for tag in tags if tag in SENSEVOICE_LANGUAGES), None)
    return tidy(_TAG.sub("", raw)), language


def hotword_string(words: list[str]) -> str | None:
    """FunASR's hotword argument: words separated by spaces, or None for none.

    FunASR reads a hotword string that starts with "http" as a URL to download and one ending in
    ".txt" as a file name; such words are dropped, so a persona can never make it fetch or read.
    """
    kept: dict[str, None] = {}
    for phrase in words:
        for word in phrase.split():
            if not word.lower().startswith("http") and not word.lower().endswith(".txt"):
                kept[word] = None
    return " ".join(kept) or None


def to_float(samples: np.ndarray) -> np.ndarray:
    """16 kHz int16 -> float32 in [-1, 1), what FunASR's front ends expect from arrays."""
    return np.asarray(samples, dtype=np.float32) / 32768.0


def _first_text(results: Any) -> str:
    if results and isinstance(results, list) and isinstance(results[0], dict):
        return str(results[0].get("text", ""))
    return ""


_inference = stage_boundary


class Punctuator:
    """ct-punc (CT-Transformer) restoring punctuation on a transcript."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def __call__(self, text: str) -> str:
        if not text.strip():
            return text
        # The leading space keeps FunASR from reading a text that starts with "http" as a URL
        # to download, or one that names an existing file as that file; words are unchanged.
        with _inference("ct-punc"):
            return _first_text(self._model.generate(input=" " + text)) or text


# --- decoding ----------------------------------------------------------------------------------

Decode = Callable[[np.ndarray], Transcript]


class _Buffered:
    """Offline models: keep the utterance (bounded) and decode it whole at finish()."""

    def __init__(self, decode: Decode) -> None:
        self._decode = decode
        self._chunks: list[np.ndarray] = []
        self._samples = 0
        self._limit = int(MAX_UTTERANCE_SECONDS * SAMPLE_RATE)

    def feed(self, samples: np.ndarray) -> None:
        room = self._limit - self._samples
        if room <= 0:
            return
        if len(samples) > room:
            log.warning(
                "utterance longer than %.0f s: the rest is not transcribed", MAX_UTTERANCE_SECONDS
            )
        kept = np.array(samples[:room], dtype=np.int16)
        self._chunks.append(kept)
        self._samples += len(kept)

    def finish(self) -> Transcript:
        if self._samples < MIN_SAMPLES:
            return Transcript("", None)
        audio = to_float(np.concatenate(self._chunks))
        self._chunks, self._samples = [], 0
        return self._decode(audio)


class _Streaming:
    """Streaming Paraformer: each full 600 ms chunk is decoded as it arrives, with the cache."""

    def __init__(self, model: Any, punctuate: Punctuator | None) -> None:
        self._model = model
        self._punctuate = punctuate
        self._cache: dict[str, Any] = {}  # FunASR keeps the encoder/decoder state here
        self._pending = np.zeros(0, dtype=np.float32)
        self._texts: list[str] = []
        self._fed = 0

    def _step(self, chunk: np.ndarray, is_final: bool) -> str:
        with _inference("paraformer-zh-streaming"):
            results = self._model.generate(
                input=chunk, cache=self._cache, is_final=is_final, **STREAM_OPTIONS
            )
        return _first_text(results)

    def feed(self, samples: np.ndarray) -> None:
        self._fed += len(samples)
        self._pending = np.concatenate([self._pending, to_float(samples)])
        while len(self._pending) >= STREAM_CHUNK_SAMPLES:
            chunk = self._pending[:STREAM_CHUNK_SAMPLES]
            self._pending = self._pending[STREAM_CHUNK_SAMPLES:]
            self._texts.append(self._step(chunk, is_final=False))

    @property
    def partial(self) -> str:
        """What has been recognized so far (unpunctuated)."""
        return tidy(join_chunks(self._texts))

    def finish(self) -> Transcript:
        if self._fed < MIN_SAMPLES:
            return Transcript("", None)
        self._texts.append(self._step(self._pending, is_final=True))
        self._pending = np.zeros(0, dtype=np.float32)
        text = join_chunks(self._texts)
        if self._punctuate is not None:
            text = self._punctuate(text)
        return Transcript(tidy(text), "zh")


class _Recognizer(Protocol):
    def start(self) -> TranscriptionSession: ...


class _Paraformer:
    """SeACo Paraformer: the seed's paraformer-zh; hotwords bias it toward names it must hear."""

    def __init__(self, model: Any, hotwords: str | None, punctuate: Punctuator | None) -> None:
        self._model = model
        self._options = {"hotword": hotwords} if hotwords else {}
        self._punctuate = punctuate

    def decode(self, audio: np.ndarray) -> Transcript:
        with _inference("paraformer-zh"):
            text = _first_text(self._model.generate(input=audio, **self._options))
        if self._punctuate is not None:
            text = self._punctuate(text)  # like FunASR's own pipeline: on the spaced text
        return Transcript(tidy(text), "zh")

    def start(self) -> TranscriptionSession:
        return _Buffered(self.decode)


class _SenseVoice:
    def __init__(self, model: Any, settings: FunasrSettings) -> None:
        self._model = model
        self._language = settings.language
        self._use_itn = settings.use_itn

    def decode(self, audio: np.ndarray) -> Transcript:
        with _inference("sensevoice-small"):
            raw = _first_text(
                self._model.generate(input=audio, language=self._language, use_itn=self._use_itn)
            )
        text, language = sensevoice_text(raw)
        fallback = None if self._language == "auto" else self._language
        return Transcript(text, language or fallback)

    def start(self) -> TranscriptionSession:
        return _Buffered(self.decode)


class _StreamingParaformer:
    def __init__(self, model: Any, punctuate: Punctuator | None) -> None:
        self._model = model
        self._punctuate = punctuate

    def start(self) -> TranscriptionSession:
        return _Streaming(self._model, self._punctuate)


# --- the backend -------------------------------------------------------------------------------


def _warmup_audio() -> np.ndarray:
    """~1 s of quiet noise: enough to run every layer (and one streaming chunk) once."""
    rng = np.random.default_rng(0)
    return rng.normal(0, 100, int(WARMUP_SECONDS * SAMPLE_RATE)).astype(np.int16)


class FunasrTranscriber:
    name = "funasr"

    def __init__(
        self, settings: FunasrSettings, models_dir: Path, hotwords: list[str] | None = None
    ) -> None:
        """Load and warm up the configured model (and ct-punc); ModelMissing if absent."""
        started = time.monotonic()
        for needed in needed_models(settings):
            check_model(model_dir(models_dir, needed), needed)  # all problems before any load
        _warn_if_no_gpu(settings.device)
        self.model = settings.model
        self._punctuate: Punctuator | None = None
        self._recognizer = self._build(settings, models_dir, hotwords or [])
        loaded = time.monotonic()
        self._warm_up(model_dir(models_dir, settings.model))
        log.info(
            "funasr %s loaded from %s on %s in %.1f s (warm-up %.2f s)",
            settings.model,
            model_dir(models_dir, settings.model),
            settings.device,
            loaded - started,
            time.monotonic() - loaded,
        )

    def _build(
        self, settings: FunasrSettings, models_dir: Path, hotwords: list[str]
    ) -> _Recognizer:
        model = load_model(model_dir(models_dir, settings.model), settings)
        if settings.model == "sensevoice-small":
            return _SenseVoice(model, settings)
        if settings.punctuation:
            folder = model_dir(models_dir, PUNCTUATION_MODEL)
            self._punctuate = Punctuator(load_model(folder, settings))
        if settings.model == "paraformer-zh-streaming":
            return _StreamingParaformer(model, self._punctuate)
        words = hotword_string([*settings.hotwords, *hotwords])
        log.debug("funasr hotwords: %s", words)
        return _Paraformer(model, words, self._punctuate)

    def _warm_up(self, folder: Path) -> None:
        """One decode (and one punctuation) now, so the first turn is not the slow one."""
        session = self.start()
        try:
            session.feed(_warmup_audio())
            session.finish()
            if self._punctuate is not None:
                self._punctuate("你好")
        except StageError as err:
            raise ModelUnusable(f"FunASR model {self.model}", folder, err.detail) from err

    def start(self) -> TranscriptionSession:
        return self._recognizer.start()
