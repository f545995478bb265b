"""openWakeWord's frozen feature models without importing openwakeword.

Every openWakeWord wake model is a small classifier over the same features: a melspectrogram
model (audio -> 32 mel bands every 10 ms) and Google's speech-embedding model (76 mel frames ->
one 96-dim vector, every 80 ms). `import openwakeword` also imports scipy and scikit-learn (for
its optional verifier models), some 60 MB of a listening box's memory for nothing, so this module
runs the two models itself, on LiteRT (.tflite) or onnxruntime (.onnx), with the same framing
and the same scaling as openWakeWord's `AudioFeatures`. Training (daemon/wake/train) and
listening share it, so a trained classifier sees the same features it will see on the box.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from daemon.audio.frames import FRAME_SAMPLES

MEL_BANDS = 32
EMBEDDING_DIM = 96
WINDOW_MELS = 76  # mel frames per embedding (0.775 s)
STEP_MELS = 8  # mel frames between embeddings (80 ms)
CONTEXT_SAMPLES = 480  # samples before a chunk the melspectrogram needs for its first frames
FEATURE_HISTORY = 120  # embeddings kept (~10 s)
MEL_HISTORY = 970
BATCH = 16  # embedding windows per call when embedding whole clips

Predict = Callable[[np.ndarray], np.ndarray]


def _litert(path: Path) -> Predict:
    """A LiteRT interpreter as a function; it is resized whenever the input shape changes."""
    from ai_edge_litert.interpreter import Interpreter

    from daemon.host.native import native_stderr_silenced

    with native_stderr_silenced():  # "XNNPACK delegate" line per model
        interpreter = Interpreter(model_path=str(path), num_threads=1)
    source = interpreter.get_input_details()[0]["index"]
    target = interpreter.get_output_details()[0]["index"]
    shape: list[tuple[int, ...]] = [()]

    def predict(x: np.ndarray) -> np.ndarray:
        if x.shape != shape[0]:
            interpreter.resize_tensor_input(source, list(x.shape), strict=True)
            with native_stderr_silenced():  # the delegate is (re)made here too
                interpreter.allocate_tensors()
            shape[0] = x.shape
        interpreter.set_tensor(source, x)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(target))

    return predict


def _onnx(path: Path) -> Predict:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.inter_op_num_threads = options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: np.asarray(session.run(None, {name: x})[0])


def load_model(path: Path) -> Predict:
    """A .tflite (LiteRT) or .onnx (onnxruntime) model as a function of one array."""
    return _onnx(path) if path.suffix == ".onnx" else _litert(path)


class FeatureModels:
    """The two frozen models, stateless: whole clips in, embeddings out (training, evaluation)."""

    def __init__(self, melspec: Path, embedding: Path) -> None:
        self.paths = (melspec, embedding)
        self._melspec = load_model(melspec)
        self._embedding = load_model(embedding)
        self._quiet: dict[int, np.ndarray] = {}

    def mels(self, samples: np.ndarray) -> np.ndarray:
        """int16 audio (n,) -> (frames, 32) mel features, scaled as openWakeWord scales them."""
        spec = self._melspec(samples.astype(np.float32)[None, :])
        return np.squeeze(spec).reshape(-1, MEL_BANDS) / 10 + 2

    def embed(self, mels: np.ndarray) -> np.ndarray:
        """(frames, 32) -> (n, 96): one embedding per 80 ms whose 76-frame window fits."""
        starts = range(0, mels.shape[0] - WINDOW_MELS + 1, STEP_MELS)
        return self.embed_windows([mels[s : s + WINDOW_MELS] for s in starts])

    def embed_windows(self, windows: list[np.ndarray]) -> np.ndarray:
        """76-frame mel windows -> (len(windows), 96)."""
        if not windows:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        batch = np.stack(windows).astype(np.float32)[..., None]
        if len(windows) == 1:
            return self._embedding(batch).reshape(1, EMBEDDING_DIM)
        # Fixed-size batches: a runtime re-plans its tensors whenever the batch size changes.
        padded = -len(batch) % BATCH
        batch = np.concatenate([batch, np.zeros((padded, *batch.shape[1:]), np.float32)])
        out = [self._embedding(batch[i : i + BATCH]) for i in range(0, len(batch), BATCH)]
        return np.concatenate(out).reshape(-1, EMBEDDING_DIM)[: len(windows)]

    def clip(self, samples: np.ndarray) -> np.ndarray:
        """A whole int16 clip -> (n, 96) embeddings, the i-th ending at sample ~1280*(i+10)."""
        return self.embed(self.mels(samples))

    def quiet_room(self, seed: int) -> np.ndarray:
        """The embeddings a streaming detector starts from after a reset. As openWakeWord does:
        those of quiet noise, so the classifier's first windows look like a quiet room rather
        than zeros (fixed seed: repeatable). Computed once per seed, so a reset after every
        detection and every reply costs nothing, and on a scratch copy of the models: a runtime
        keeps its tensors planned for the largest input it has seen, and 4 s of audio at once
        would leave ~10 MB planned in the models that stream 80 ms at a time."""
        if seed not in self._quiet:
            noise = np.random.default_rng(seed).integers(-1000, 1000, 4 * 16000)
            scratch = FeatureModels(*self.paths)
            self._quiet[seed] = scratch.clip(noise.astype(np.int16))
        return self._quiet[seed]


class StreamingFeatures:
    """openWakeWord's streaming feature buffer: each 80 ms of audio adds one embedding.

    Fed any number of samples; whole 80 ms frames are turned into mel frames (with 480 samples
    of context before them) and embeddings; a remainder waits for the next call.
    """

    def __init__(self, models: FeatureModels, seed: int = 0) -> None:
        self.models = models
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        self._context = np.zeros(0, dtype=np.int16)
        self._pending = np.zeros(0, dtype=np.int16)
        self._mels = np.ones((WINDOW_MELS, MEL_BANDS), dtype=np.float32)
        self.embeddings = self.models.quiet_room(self._seed).copy()

    def push(self, samples: np.ndarray) -> int:
        """Add audio; returns how many new embeddings (80 ms frames) it completed."""
        audio = np.concatenate([self._pending, samples.astype(np.int16)])
        whole = len(audio) - len(audio) % FRAME_SAMPLES
        self._pending = audio[whole:]
        if whole == 0:
            return 0
        frames = whole // FRAME_SAMPLES
        # One 80 ms frame (with its context) per melspectrogram call, however many came at once:
        # the model's input shape never changes, so a runtime never re-plans its tensors and
        # two detectors can share one set of models (daemon.wake.openwakeword.OpenWakeWord.sibling).
        mels = []
        for i in range(frames):
            frame = audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
            chunk = np.concatenate([self._context, frame])
            self._context = chunk[-CONTEXT_SAMPLES:]
            mels.append(self.models.mels(chunk))
        self._mels = np.vstack([self._mels, *mels])[-MEL_HISTORY:]
        ends = [len(self._mels) - STEP_MELS * i for i in range(frames)][::-1]
        # One window per call, as on the box one frame comes at a time: a runtime keeps its
        # tensors planned for batch 1 instead of re-planning for every pair of frames.
        new = [self.models.embed_windows([self._mels[end - WINDOW_MELS : end]]) for end in ends]
        self.embeddings = np.vstack([self.embeddings, *new])[-FEATURE_HISTORY:]
        return len(new)

    def window(self, frames: int, ago: int = 0) -> np.ndarray:
        """The last `frames` embeddings as one classifier input (1, frames, 96), ending `ago`
        embeddings before the newest."""
        end = len(self.embeddings) - ago
        return self.embeddings[end - frames : end][None].astype(np.float32)
