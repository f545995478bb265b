"""Silero VAD's ONNX model on onnxruntime alone (no torch).

The model file comes from the silero-vad wheel (see daemon/models/packaged.py). The model is
stateful: each 512-sample chunk is passed with the last 64 samples of the previous one as context
and the recurrent state it returned, exactly as silero's own OnnxWrapper does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from daemon.audio.frames import SAMPLE_RATE, int16_to_float
from daemon.models.errors import ModelDamaged, ModelMissing
from daemon.models.verify import PACKAGED_FETCH, check_vad, verify_pinned

CHUNK = 512
CONTEXT = 64
WHAT = "Silero VAD model"


class SileroVad:
    chunk_samples = CHUNK

    def __init__(self, models_dir: Path) -> None:
        path = models_dir / "silero" / "silero_vad.onnx"
        if not path.is_file():
            raise ModelMissing(WHAT, path, "voiced models fetch")
        verify_pinned(WHAT, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # a 32 ms chunk costs ~0.1 ms; threads only add wake-ups
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False  # no arena for 2 KB of activations (saves ~1 MB)
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's errors for a broken file vary by version
            reason = f"does not load: {type(exc).__name__}"
            raise ModelDamaged(WHAT, path, reason, PACKAGED_FETCH) from None
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()
        check_vad(WHAT, path, self.probability, CHUNK, self.reset)

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, CONTEXT), dtype=np.float32)

    def probability(self, samples: np.ndarray) -> float:
        if len(samples) != CHUNK:
            raise ValueError(f"Silero needs {CHUNK}-sample chunks, got {len(samples)}")
        chunk = int16_to_float(samples)[np.newaxis, :]
        audio = np.concatenate([self._context, chunk], axis=1)
        out, self._state = self._session.run(
            None, {"input": audio, "state": self._state, "sr": self._sr}
        )
        self._context = audio[:, -CONTEXT:]
        return float(out[0, 0])
