"""One wake word's classifier: openWakeWord's model format, checked when it is loaded.

A wake model takes (1, frames, 96) speech embeddings (frames = 16 for the official models) and
gives one score in [0, 1]. A file that is not such a model (another ONNX network, a truncated
file, a text file named .onnx) stops start-up with a one-line configuration error naming it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from daemon.errors import ConfigError
from daemon.wake.features import EMBEDDING_DIM, Predict, load_model

MODELS_FOLDER = Path(__file__).parent / "models"
# Wake words that ship inside the package (trained with `voiced wake train`; see README).
PACKAGED = {"ni_hao_xiao_zhi": "ni_hao_xiao_zhi", "你好小智": "ni_hao_xiao_zhi"}


def packaged_model(spec: str) -> Path | None:
    """The shipped model file for a packaged wake word's name, or None."""
    name = PACKAGED.get(spec)
    return MODELS_FOLDER / f"{name}.onnx" if name else None


def input_frames(path: Path) -> int:
    """How many embeddings the model reads, from its declared input shape; ConfigError if the
    file is not a wake model."""
    shape, outputs = _signature(path)
    if len(shape) != 3 or shape[2] != EMBEDDING_DIM or not isinstance(shape[1], int):
        raise not_a_wake_model(path, f"its input is {shape}, not (1, frames, {EMBEDDING_DIM})")
    if outputs != 1:
        raise not_a_wake_model(path, f"it gives {outputs} scores, not 1")
    return int(shape[1])


def not_a_wake_model(path: Path, why: str) -> ConfigError:
    return ConfigError(str(path), "wake.model", f"not an openWakeWord wake model: {why}")


def _signature(path: Path) -> tuple[list[object], int]:
    try:
        if path.suffix == ".onnx":
            import onnxruntime as ort

            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            shape = list(session.get_inputs()[0].shape)
            out = session.get_outputs()[0].shape
        else:
            from ai_edge_litert.interpreter import Interpreter

            from daemon.host.native import native_stderr_silenced

            with native_stderr_silenced():  # "XNNPACK delegate" banner
                interpreter = Interpreter(model_path=str(path))
            shape = [int(n) for n in interpreter.get_input_details()[0]["shape"]]
            out = [int(n) for n in interpreter.get_output_details()[0]["shape"]]
    except Exception as err:  # each runtime raises its own types for a file it cannot read
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise not_a_wake_model(path, f"cannot be loaded ({first[:160]})") from err
    width = out[-1] if out and isinstance(out[-1], int) else 1
    return shape, int(width)


@dataclass
class WakeClassifier:
    name: str
    path: Path
    frames: int
    predict: Predict

    @classmethod
    def load(cls, path: Path) -> WakeClassifier:
        frames = input_frames(path)
        return cls(path.stem, path, frames, load_model(path))

    def score(self, window: np.ndarray) -> float:
        """(1, frames, 96) embeddings -> the wake word's score."""
        return float(np.asarray(self.predict(window)).reshape(-1)[0])

    def score_windows(self, windows: np.ndarray) -> np.ndarray:
        """(n, frames, 96) -> (n,) scores, one window at a time (as on the box)."""
        return np.array([self.score(one[None].astype(np.float32)) for one in windows])


class Sustained:
    """A score that must stay high: the lowest of a model's last `frames` scores (0 until that
    many have come), so a wake word fires only after `frames` frames in a row at or above the
    threshold. With frames=1 the score passes unchanged."""

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.reset()

    def reset(self) -> None:
        self._recent: deque[float] = deque(maxlen=self.frames)

    def push(self, score: float) -> float:
        self._recent.append(score)
        return min(self._recent) if len(self._recent) == self.frames else 0.0


def sustained(scores: np.ndarray, frames: int) -> np.ndarray:
    """`Sustained` over a whole array of frame scores at once (evaluation, benchmarks)."""
    if frames <= 1 or len(scores) == 0:
        return scores
    padded = np.concatenate([np.zeros(frames - 1), scores])
    view = np.lib.stride_tricks.sliding_window_view(padded, frames)
    return view.min(axis=1)
