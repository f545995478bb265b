"""openWakeWord models (official pretrained, shipped with voiced, or trained with `voiced wake
train`), loaded from local files only, run without importing openwakeword.

openWakeWord's own `download_models()` reads GitHub, so the official models come from the models
directory filled by `voiced models fetch` (see daemon/models/packaged.py). The feature models and
the classifiers run on LiteRT (.tflite; tflite-runtime crashes under numpy 2) or onnxruntime
(.onnx) through daemon/wake/features.py, which reproduces openWakeWord's streaming features: the
scores equal openWakeWord's own (tests/unit/test_wake_features.py), without scipy and
scikit-learn in the listening process. `use_litert_as_tflite_runtime` remains for code that runs
openWakeWord itself (the listen-cost benchmark's reference loop).
"""

from __future__ import annotations

import copy
import logging
import sys
import types
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from daemon.audio.frames import FRAME_SAMPLES
from daemon.config import WakeSettings
from daemon.models.errors import ModelMissing
from daemon.models.oww_onnx import make_copies, usable_copy
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
from daemon.wake.classifier import Sustained, WakeClassifier, packaged_model
from daemon.wake.features import FeatureModels, StreamingFeatures

log = logging.getLogger(__name__)

PRETRAINED = {
    "hey_jarvis": "hey_jarvis_v0.1",
    "alexa": "alexa_v0.1",
    "hey_mycroft": "hey_mycroft_v0.1",
    "ok_nabu": "ok_nabu_v0.1",
    "hey_rhasspy": "hey_rhasspy_v0.1",
}
FETCH_HINT = "voiced models fetch"
WARM_UP_PREDICTIONS = 5  # openWakeWord reports 0 for the first frames after a reset
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


FEATURE_NAMES = ("melspectrogram", "embedding_model")


def wake_model_specs(model: str | list[str]) -> list[str]:
    """wake.model (or a persona's wake_word) as a list: one name or path, or several."""
    return [model] if isinstance(model, str) else list(model)


def resolve_model(spec: str, models_dir: Path) -> Path:
    """A pretrained name -> its file in the models dir; a wake word that ships with voiced ->
    its file in the package; anything else is a path to a model file."""
    if spec in PRETRAINED:
        path = models_dir / "openwakeword" / f"{PRETRAINED[spec]}.tflite"
        path = usable_copy(path) or path  # the ONNX copy: no LiteRT in the listening process
    elif packaged_model(spec) is not None:
        path = packaged_model(spec)  # type: ignore[assignment]
    else:
        path = Path(spec).expanduser()
    if not path.is_file():
        raise ModelMissing(f"wake word model {spec!r}", path, FETCH_HINT)
    if path.suffix not in (".tflite", ".onnx"):
        raise ValueError(f"wake model {path} must be a .tflite or .onnx file")
    return path


def shared_features_paths(
    models_dir: Path, classifiers: Sequence[Path] = ()
) -> tuple[Path, Path]:
    """The feature models every wake model needs: the ONNX ones when every classifier is ONNX
    and they are fetched, so one runtime (onnxruntime) runs it all and LiteRT is never loaded
    (-11 MB); else the tflite ones, since a tflite classifier needs LiteRT anyway and two
    runtimes cost ~10 MB more than one. Both give the same features to 1e-6."""
    folder = models_dir / "openwakeword"
    fetched = all((folder / f"{name}.onnx").is_file() for name in FEATURE_NAMES)
    all_onnx = all(path.suffix == ".onnx" for path in classifiers)
    paths = feature_models("onnx" if fetched and all_onnx else "tflite", models_dir)
    return Path(paths["melspec_model_path"]), Path(paths["embedding_model_path"])


def make_pretrained_copies(models_dir: Path) -> list[Path]:
    """ONNX copies of the fetched pretrained classifiers (see daemon.models.oww_onnx)."""
    folder = models_dir / "openwakeword"
    tflites = [folder / f"{name}.tflite" for name in PRETRAINED.values()]
    paths = feature_models("tflite", models_dir)
    features = Path(paths["melspec_model_path"]), Path(paths["embedding_model_path"])
    return make_copies([p for p in tflites if p.is_file()], features)


def shared_features(models_dir: Path) -> FeatureModels:
    return FeatureModels(*shared_features_paths(models_dir))


def feature_models(framework: str, models_dir: Path) -> dict[str, str]:
    """The shared melspectrogram and embedding models for the framework the wake model needs."""
    folder = models_dir / "openwakeword"
    melspec, embedding = FEATURE_NAMES
    paths = {
        "melspec_model_path": folder / f"{melspec}.{framework}",
        "embedding_model_path": folder / f"{embedding}.{framework}",
    }
    for path in paths.values():
        if not path.is_file():
            raise ModelMissing(FEATURE, path, FETCH_HINT)
    return {key: str(path) for key, path in paths.items()}


def _check_frames() -> list[np.ndarray]:
    """Silence, then the built-in speech clip, in 80 ms frames."""
    audio = np.concatenate([np.zeros(FRAME_SAMPLES * 2, np.int16), speech_clip()])
    starts = range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES)
    return [audio[i : i + FRAME_SAMPLES] for i in starts]


class OpenWakeWord:
    """Several openWakeWord models, one threshold, sharing one feature extractor: each model is
    a small classifier over the same embeddings, so two wake words cost about what one does.
    Scores every 80 ms frame; a call with several frames scores each and keeps the best."""

    def __init__(self, settings: WakeSettings, models_dir: Path) -> None:
        paths = [resolve_model(spec, models_dir) for spec in wake_model_specs(settings.model)]
        features = shared_features_paths(models_dir, paths)
        files = [*paths, *features]
        checked = checked_before(files)
        if not checked:  # a pinned file that changed is damaged, whatever it now holds
            for path in paths:
                verify_pinned(f"wake word model {path.stem}", path)
            for path in features:
                verify_pinned(FEATURE, path)
        self._features = StreamingFeatures(FeatureModels(*features))
        self._classifiers = [WakeClassifier.load(path) for path in paths]
        self.name = "+".join(c.name for c in self._classifiers)
        self.threshold = settings.threshold
        self._confirm = {c.name: Sustained(settings.confirm_frames) for c in self._classifiers}
        self.peak = WakeHit("-", 0.0)  # the best score heard so far (for a hint in logs)
        self.latest = 0.0  # the best score of the last process() call (the console's meter)
        self._scored = 0
        if not checked:
            self._check_scores()
            mark_checked(files)
        for classifier in self._classifiers:
            log.debug(
                "wake word %s loaded from %s (threshold %.2f)",
                classifier.name,
                classifier.path,
                self.threshold,
            )

    def sibling(self, threshold: float) -> OpenWakeWord:
        """Another detector for the same wake words sharing this one's models (no second copy
        of the feature models and classifiers in memory: ~17 MB), with its own streaming state
        and threshold. The models are stateless between calls and always see the same input
        shapes, so the two can share them as long as one thread calls both (the self-trigger
        guard and the microphone's detector both run on the listener thread)."""
        twin = copy.copy(self)  # the classifiers and feature models; every state is new below
        twin._features = StreamingFeatures(self._features.models)
        twin._confirm = {name: Sustained(s.frames) for name, s in self._confirm.items()}
        twin.threshold = threshold
        twin.peak = WakeHit("-", 0.0)
        twin.latest = 0.0
        twin._scored = 0
        return twin

    def _check_scores(self) -> None:
        """ModelDamaged unless every model gives probabilities on known speech."""
        frames = _check_frames()
        for classifier in self._classifiers:
            scores = [self.scores(frame).get(classifier.name, 0.0) for frame in frames]
            self.reset()
            path = classifier.path
            fetch = PACKAGED_FETCH if pinned_digest(path) else f"replace {path}"
            check_scores(f"wake word model {classifier.name}", path, scores, fetch)

    def process(self, samples: np.ndarray) -> WakeHit | None:
        best = self.scores(samples)
        self.latest = max(best.values(), default=0.0)
        if not best:
            return None
        model, score = max(best.items(), key=lambda item: item[1])
        if score > self.peak.score:
            self.peak = WakeHit(model, score)
        return WakeHit(model, score) if score >= self.threshold else None

    def scores(self, samples: np.ndarray) -> dict[str, float]:
        """Each model's best score over the 80 ms frames these samples completed."""
        new = self._features.push(samples)
        best: dict[str, float] = {}
        for ago in range(new - 1, -1, -1):
            self._scored += 1
            if self._scored <= WARM_UP_PREDICTIONS:  # as openWakeWord: the buffer is filling
                continue
            for classifier in self._classifiers:
                score = classifier.score(self._features.window(classifier.frames, ago))
                score = self._confirm[classifier.name].push(score)
                best[classifier.name] = max(best.get(classifier.name, 0.0), score)
        return best

    def reset(self) -> None:
        self._features.reset()
        self._scored = 0
        for sustained in self._confirm.values():
            sustained.reset()
