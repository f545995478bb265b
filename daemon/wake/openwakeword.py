"""openWakeWord on its official pretrained models, loaded from local files only.

openWakeWord's own `download_models()` reads GitHub, so the models come from the models
directory filled by `voiced models fetch` (see daemon/models/packaged.py). The tflite runtime
package crashes under numpy 2, so we point openWakeWord's `tflite_runtime.interpreter` import at
LiteRT (ai-edge-litert), its maintained successor; scores are identical.
"""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np

from daemon.audio.frames import FRAME_SAMPLES
from daemon.config import WakeSettings
from daemon.host.native import native_stderr_silenced
from daemon.models.errors import ModelDamaged, ModelMissing
from daemon.models.verify import (
    PACKAGED_FETCH,
    check_scores,
    checked_before,
    mark_checked,
    pinned_digest,
    speech_clip,
    verify_pinned,
)
from daemon.wake.base import WakeHit

log = logging.getLogger(__name__)

PRETRAINED = {
    "hey_jarvis": "hey_jarvis_v0.1",
    "alexa": "alexa_v0.1",
    "hey_mycroft": "hey_mycroft_v0.1",
    "ok_nabu": "ok_nabu_v0.1",
    "hey_rhasspy": "hey_rhasspy_v0.1",
}
FETCH_HINT = "voiced models fetch"
FEATURE = "openWakeWord feature model"


def use_litert_as_tflite_runtime() -> None:
    """Make `import tflite_runtime.interpreter` resolve to LiteRT when LiteRT is installed."""
    try:
        import ai_edge_litert.interpreter as litert
    except ImportError:
        return  # fall back to whatever tflite_runtime is installed
    package = types.ModuleType("tflite_runtime")
    package.interpreter = litert  # type: ignore[attr-defined]
    sys.modules["tflite_runtime"] = package
    sys.modules["tflite_runtime.interpreter"] = litert


def resolve_model(spec: str, models_dir: Path) -> Path:
    """A pretrained name -> its file in the models dir; anything else is a path to a model file."""
    if spec in PRETRAINED:
        path = models_dir / "openwakeword" / f"{PRETRAINED[spec]}.tflite"
    else:
        path = Path(spec).expanduser()
    if not path.is_file():
        raise ModelMissing(f"wake word model {spec!r}", path, FETCH_HINT)
    if path.suffix not in (".tflite", ".onnx"):
        raise ValueError(f"wake model {path} must be a .tflite or .onnx file")
    return path


def feature_models(framework: str, models_dir: Path) -> dict[str, str]:
    """The shared melspectrogram and embedding models for the framework the wake model needs."""
    folder = models_dir / "openwakeword"
    paths = {
        "melspec_model_path": folder / f"melspectrogram.{framework}",
        "embedding_model_path": folder / f"embedding_model.{framework}",
    }
    for path in paths.values():
        if not path.is_file():
            raise ModelMissing(FEATURE, path, FETCH_HINT)
    return {key: str(path) for key, path in paths.items()}


def _load_checked(model_path: Path, framework: str, features: dict[str, str]) -> Any:
    """The openWakeWord model, its files verified and its scores on known audio checked (once
    per process for the same files)."""
    files = [model_path, *(Path(p) for p in features.values())]
    what = f"wake word model {model_path.stem}"
    fetch = PACKAGED_FETCH if pinned_digest(model_path) else f"replace {model_path}"
    if checked_before(files):
        return _load(model_path, framework, features, what, fetch)[0]
    for name, path in zip([what, FEATURE, FEATURE], files, strict=True):
        verify_pinned(name, path)
    model, scores = _load(model_path, framework, features, what, fetch, _check_frames())
    check_scores(what, model_path, scores, fetch)
    mark_checked(files)
    return model


def _load(
    model_path: Path,
    framework: str,
    features: dict[str, str],
    what: str,
    fetch: str,
    frames: list[np.ndarray] | None = None,
) -> tuple[Any, list[float]]:
    """Load the model and score `frames` (if any); ModelDamaged if the runtime cannot."""
    from openwakeword.model import Model  # heavy: scipy, sklearn, the runtime

    try:
        with native_stderr_silenced():  # TFLite prints an "XNNPACK delegate" line per model
            model = Model(
                wakeword_models=[str(model_path)], inference_framework=framework, **features
            )
            model.predict(np.zeros(FRAME_SAMPLES, dtype=np.int16))  # delegates start here
            model.reset()
            scores = [s for frame in frames or [] for s in model.predict(frame).values()]
            model.reset()
    except Exception as exc:  # a truncated or foreign file fails inside the runtime
        reason = f"does not run: {type(exc).__name__}"
        raise ModelDamaged(what, model_path, reason, fetch) from None
    return model, scores


def _check_frames() -> list[np.ndarray]:
    """Silence, then the built-in speech clip, in 80 ms frames."""
    audio = np.concatenate([np.zeros(FRAME_SAMPLES * 2, np.int16), speech_clip()])
    starts = range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES)
    return [audio[i : i + FRAME_SAMPLES] for i in starts]


class OpenWakeWord:
    """One openWakeWord model with a threshold; scores every 80 ms frame."""

    def __init__(self, settings: WakeSettings, models_dir: Path) -> None:
        model_path = resolve_model(settings.model, models_dir)
        framework = model_path.suffix.lstrip(".")
        features = feature_models(framework, models_dir)
        if framework == "tflite":
            use_litert_as_tflite_runtime()
        self._model = _load_checked(model_path, framework, features)
        self.name = model_path.stem
        self._threshold = settings.threshold
        log.debug(
            "wake word %s loaded from %s (threshold %.2f)", self.name, model_path, self._threshold
        )

    def process(self, samples: np.ndarray) -> WakeHit | None:
        scores = self._model.predict(samples)
        model, score = max(scores.items(), key=lambda item: item[1])
        return WakeHit(model, float(score)) if score >= self._threshold else None

    def reset(self) -> None:
        self._model.reset()
