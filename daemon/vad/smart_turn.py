"""Smart Turn v3.2: does the speech so far sound like a finished turn?

pipecat's end-of-turn model (BSD-2), a Whisper-tiny encoder with a one-probability head, taken as
a file from the `pipecat-ai` wheel (see daemon/models/packaged.py; pipecat itself is not a
dependency). Input: the last 8 s of 16 kHz audio as Whisper log-mel features (80 x 800), the
audio right-aligned (zeros in front when shorter). Output: the probability that the turn is
complete. It hears intonation and the words, in English and Mandarin among others.

The features are Whisper's recipe, written here in numpy: waveform normalized to zero mean and
unit variance, a periodic Hann window of 400 samples, hop 160, centered reflect padding, power
spectrum, 80 Slaney-normalized mel filters, log10 clamped to 8 below the maximum, then
`(x + 4) / 4`. Whisper's own extractor needs transformers or torch; this needs numpy only.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

import numpy as np

from daemon.audio.frames import SAMPLE_RATE
from daemon.host.memory import release_free_memory
from daemon.models.errors import ModelMissing

log = logging.getLogger(__name__)

MODEL_FILE = "smart-turn-v3.2-cpu.onnx"
WINDOW_SECONDS = 8
WINDOW_SAMPLES = WINDOW_SECONDS * SAMPLE_RATE
N_FFT = 400
HOP = 160
N_MELS = 80
FRAMES = WINDOW_SAMPLES // HOP  # 800


def _hz_to_mel(hz: float | np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = 3.0 * hz / 200.0
    log_part = 15.0 + np.log(np.maximum(hz, 1e-12) / 1000.0) * (27.0 / np.log(6.4))
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: float | np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = 200.0 * mel / 3.0
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)


@cache
def mel_filters() -> np.ndarray:
    """(N_FFT // 2 + 1, N_MELS) triangular filters, each scaled to unit area (Slaney)."""
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    bins_hz = np.linspace(0, SAMPLE_RATE // 2, N_FFT // 2 + 1)
    widths = np.diff(edges_hz)
    offsets = edges_hz[np.newaxis, :] - bins_hz[:, np.newaxis]
    rising = -offsets[:, :-2] / widths[:-1]
    falling = offsets[:, 2:] / widths[1:]
    filters = np.maximum(0.0, np.minimum(rising, falling))
    return filters * (2.0 / (edges_hz[2:] - edges_hz[:-2]))[np.newaxis, :]


@cache
def _hann() -> np.ndarray:
    return np.hanning(N_FFT + 1)[:-1]  # periodic, as torch.hann_window


def window(audio: np.ndarray) -> np.ndarray:
    """The last 8 s of float audio, zero-padded in front to exactly 8 s."""
    audio = np.asarray(audio, dtype=np.float32)[-WINDOW_SAMPLES:]
    return np.pad(audio, (WINDOW_SAMPLES - len(audio), 0))


def log_mel(audio: np.ndarray) -> np.ndarray:
    """Whisper log-mel features (80, 800) of exactly 8 s of float32 16 kHz audio."""
    if audio.shape != (WINDOW_SAMPLES,):
        raise ValueError(f"need {WINDOW_SAMPLES} samples, got shape {audio.shape}")
    x = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _hann(), axis=-1)) ** 2  # (801, 201)
    mel = np.log10(np.maximum(power @ mel_filters(), 1e-10)).T[:, :FRAMES]
    mel = np.maximum(mel, mel.max() - 8.0)
    return ((mel + 4.0) / 4.0).astype(np.float32)


class SmartTurn:
    """The ONNX model on onnxruntime, one thread, no memory arena (it runs a few times a turn)."""

    def __init__(self, models_dir: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        path = models_dir / "smart-turn" / MODEL_FILE
        if not path.is_file():
            raise ModelMissing("Smart Turn model", path, "voiced models fetch packaged")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.enable_cpu_mem_arena = False  # idle RSS: the arena would keep ~peak forever
        self._session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def probability(self, audio: np.ndarray) -> float:
        """P(turn complete) for float32 16 kHz audio, the turn so far (only the last 8 s count)."""
        features = log_mel(window(audio))[np.newaxis]
        (out,) = self._session.run(None, {"input_features": features})
        release_free_memory()  # the encoder's activations: ~40 MB that glibc would keep
        return float(np.asarray(out).reshape(-1)[0])
