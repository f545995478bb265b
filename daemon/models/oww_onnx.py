"""openWakeWord's pretrained classifiers as ONNX, made once on the box from the pinned tflite files.

A box whose wake classifiers are all ONNX runs the whole wake path on onnxruntime (which the
VAD and Smart Turn load anyway) and never imports LiteRT: ~11 MB less RSS while listening
(scripts/bench memory). No ONNX copy of hey_jarvis & co. can be downloaded (the models are
CC BY-NC-SA, so voiced cannot ship a converted copy either), but they are small dense networks,
and this module rewrites each one into the same network in ONNX:

    flatten -> [Linear -> LayerNorm -> ReLU]* -> Linear -> sigmoid
    (alexa: [Linear -> ReLU]* -> Linear -> sigmoid)

hey_jarvis carries a second network of the same shape behind an `IF`: when the first score
reaches a threshold, the output is the second network's score. The ONNX copy computes both
and picks with `Where` (a few thousand multiply-adds more per frame, no control flow).

The weights are read through LiteRT (a dependency already); the graph is read from the op list
and checked against a fixed pattern, and the copy is written only after it gives LiteRT's own
scores (to 1e-4) on windows of real and random features. Anything else keeps the tflite file.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SUFFIX = ".onnx"
STAMP_SUFFIX = ".onnx.json"  # which tflite file the copy was made from, and the copy's sha256
TOLERANCE = 1e-4  # float32 sums in another order: ~1e-5 on real speech
RANDOM_SCALES = (0.5, 1.0, 2.0, 4.0)  # the larger ones reach hey_jarvis's second network
RANDOM_PER_SCALE = 64
OPSET = 17  # LayerNormalization


class NotConvertible(ValueError):
    """The tflite graph is not one of openWakeWord's dense classifiers."""


@dataclass
class Layer:
    weight: np.ndarray  # (out, in), as tflite's FULLY_CONNECTED stores it
    bias: np.ndarray | None
    norm: tuple[np.ndarray, np.ndarray, float] | None = None  # gamma, beta, epsilon
    relu: bool = True  # the last layer: no, it feeds the sigmoid


@dataclass
class DenseNetwork:
    layers: list[Layer] = field(default_factory=list)


@dataclass
class DenseClassifier:
    frames: int
    first: DenseNetwork
    # (threshold, network): the score is the second network's when the first reaches it.
    second: tuple[float, DenseNetwork] | None = None


def onnx_copy(tflite: Path) -> Path:
    """Where the ONNX copy of a tflite classifier lives (beside it)."""
    return tflite.with_suffix(SUFFIX)


def _stamp(tflite: Path) -> Path:
    return tflite.with_suffix(STAMP_SUFFIX)


def _stamp_body(tflite: Path, copy: Path) -> dict[str, str]:
    from daemon.models.packaged import sha256_of

    return {"from_sha256": sha256_of(tflite), "sha256": sha256_of(copy)}


def usable_copy(tflite: Path) -> Path | None:
    """The ONNX copy of `tflite` if it was made from these exact bytes and is itself intact;
    else None (a damaged copy is named in a warning: the tflite file serves meanwhile)."""
    copy = onnx_copy(tflite)
    if not copy.is_file():
        return None
    try:
        stamp = json.loads(_stamp(tflite).read_text(encoding="utf-8"))
        intact = stamp == _stamp_body(tflite, copy)
    except (OSError, ValueError):
        intact = False
    if not intact:
        log.warning(
            "%s does not match %s (damaged or stale): using the tflite file; "
            "`voiced models fetch packaged` makes the copy again",
            copy,
            tflite.name,
        )
        return None
    return copy


# --- reading the tflite graph ------------------------------------------------------------------


class _Ops:
    """The main graph's op list as a cursor, with constant tensors read through LiteRT."""

    def __init__(self, interpreter: Any) -> None:
        self._interpreter = interpreter
        self._ops = [op for op in interpreter._get_ops_details() if op["op_name"] != "DELEGATE"]
        self._at = 0

    def next(self, name: str) -> dict[str, Any]:
        if self.peek() != name:
            raise NotConvertible(f"expected {name} at op {self._at}, found {self.peek()}")
        self._at += 1
        return self._ops[self._at - 1]

    def peek(self) -> str | None:
        return self._ops[self._at]["op_name"] if self._at < len(self._ops) else None

    def tensor(self, index: int) -> np.ndarray:
        return np.array(self._interpreter.get_tensor(int(index)), dtype=np.float32)

    def done(self) -> None:
        if self._at != len(self._ops):
            raise NotConvertible(f"unexpected {self.peek()} at op {self._at}")


def read_classifier(tflite: Path) -> DenseClassifier:
    """The classifier's weights and shape; NotConvertible for any other graph."""
    from ai_edge_litert.interpreter import Interpreter

    from daemon.host.native import native_stderr_silenced

    try:
        with native_stderr_silenced():
            interpreter = Interpreter(model_path=str(tflite))
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as err:  # LiteRT's errors for a file it cannot plan
        raise NotConvertible(f"LiteRT cannot load it ({str(err).strip()[:120]})") from err
    shape = [int(n) for n in interpreter.get_input_details()[0]["shape"]]
    if len(shape) != 3 or shape[0] != 1:
        raise NotConvertible(f"input shape {shape}")
    ops = _Ops(interpreter)
    ops.next("RESHAPE")
    first = _read_network(ops)
    second = None
    if ops.peek() == "GREATER_EQUAL":
        threshold = float(ops.tensor(ops.next("GREATER_EQUAL")["inputs"][1]))
        ops.next("RESHAPE")
        branch = ops.next("IF")["inputs"]
        # IF(cond, x, W1, b1, g1, beta1, W2, b2, g2, beta2, W3, b3, score): the true branch is
        # the same block structure as the first network, with the first network's epsilon.
        args = [ops.tensor(i) for i in branch[2:-1]]
        epsilon = first.layers[0].norm[2] if first.layers[0].norm else 0.0
        second = (threshold, _network_from_args(args, epsilon))
    ops.done()
    return DenseClassifier(shape[1], first, second)


def _read_network(ops: _Ops) -> DenseNetwork:
    network = DenseNetwork()
    while True:
        fc = ops.next("FULLY_CONNECTED")["inputs"]
        bias = ops.tensor(fc[2]) if len(fc) > 2 and fc[2] >= 0 else None
        layer = Layer(ops.tensor(fc[1]), bias)
        network.layers.append(layer)
        if ops.peek() == "LOGISTIC":
            ops.next("LOGISTIC")
            layer.relu = False
            return network
        if ops.peek() == "MEAN":
            layer.norm = _read_norm(ops)
        # else: a fused ReLU on the FULLY_CONNECTED itself (alexa), checked against LiteRT


def _read_norm(ops: _Ops) -> tuple[np.ndarray, np.ndarray, float]:
    """MEAN, SUB, MUL, MEAN, ADD(eps), RSQRT, MUL, MUL(gamma), ADD(beta; ReLU fused)."""
    for name in ("MEAN", "SUB", "MUL", "MEAN"):
        ops.next(name)
    epsilon = float(ops.tensor(ops.next("ADD")["inputs"][1]))
    ops.next("RSQRT")
    ops.next("MUL")
    gamma = ops.tensor(ops.next("MUL")["inputs"][1])
    beta = ops.tensor(ops.next("ADD")["inputs"][1])
    return gamma, beta, epsilon


def _network_from_args(args: list[np.ndarray], epsilon: float) -> DenseNetwork:
    if len(args) != 10:
        raise NotConvertible(f"a second network with {len(args)} tensors")
    w1, b1, g1, be1, w2, b2, g2, be2, w3, b3 = args
    return DenseNetwork(
        [
            Layer(w1, b1, (g1, be1, epsilon)),
            Layer(w2, b2, (g2, be2, epsilon)),
            Layer(w3, b3, relu=False),
        ]
    )


# --- writing the ONNX graph -------------------------------------------------------------------


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.weights: list[Any] = []
        self._n = 0

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, hint: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.weights.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], **attrs: Any) -> str:
        from onnx import helper

        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out


def _network(graph: _Graph, flat: str, network: DenseNetwork) -> str:
    x = flat
    for layer in network.layers:
        x = graph.op("MatMul", [x, graph.const("w", layer.weight.T)])
        if layer.bias is not None:
            x = graph.op("Add", [x, graph.const("b", layer.bias)])
        if layer.norm is not None:
            gamma, beta, epsilon = layer.norm
            scale, shift = graph.const("gamma", gamma), graph.const("beta", beta)
            x = graph.op("LayerNormalization", [x, scale, shift], axis=-1, epsilon=epsilon)
        if layer.relu:
            x = graph.op("Relu", [x])
    return graph.op("Sigmoid", [x])


def to_onnx(classifier: DenseClassifier, name: str) -> bytes:
    """The classifier as a serialized ONNX model: input x (1, frames, 96), output (1, 1)."""
    import onnx
    from onnx import TensorProto, helper

    graph = _Graph()
    width = classifier.frames * 96
    flat = graph.op("Reshape", ["x", graph.const("shape", np.array([1, width], np.int64))])
    score = _network(graph, flat, classifier.first)
    if classifier.second is not None:
        threshold, network = classifier.second
        reached = graph.op(
            "GreaterOrEqual", [score, graph.const("threshold", np.array(threshold, np.float32))]
        )
        score = graph.op("Where", [reached, _network(graph, flat, network), score])
    made = helper.make_graph(
        graph.nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, classifier.frames, 96])],
        [helper.make_tensor_value_info(score, TensorProto.FLOAT, [1, 1])],
        graph.weights,
    )
    model = helper.make_model(
        made, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="voiced"
    )
    model.ir_version = 8  # readable by onnxruntime >= 1.10
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


# --- checked against LiteRT, then written -----------------------------------------------------


def check_windows(frames: int, real: np.ndarray, seed: int = 0) -> np.ndarray:
    """Windows to compare the two runtimes on: real features (every window of `real`, (n, 96)),
    and random ones at several scales, some strong enough to reach a second network."""
    rng = np.random.default_rng(seed)
    windows = [real[s : s + frames] for s in range(0, max(0, len(real) - frames + 1))]
    for scale in RANDOM_SCALES:
        windows += list(rng.normal(0, scale, (RANDOM_PER_SCALE, frames, 96)))
    return np.stack(windows).astype(np.float32)


def largest_difference(
    ours: Callable[[np.ndarray], np.ndarray],
    theirs: Callable[[np.ndarray], np.ndarray],
    windows: np.ndarray,
) -> float:
    return max(float(np.max(np.abs(ours(w[None]) - theirs(w[None])))) for w in windows)


def write_onnx_copy(tflite: Path, real_features: np.ndarray) -> Path:
    """Make `onnx_copy(tflite)` (atomically) once it gives LiteRT's scores; NotConvertible if the
    graph is not a dense classifier or the copy would not agree."""
    from daemon.wake.features import load_model

    classifier = read_classifier(tflite)
    target = onnx_copy(tflite)
    partial = target.with_name(f"{target.stem}.part{SUFFIX}")  # loadable by its suffix
    model = to_onnx(classifier, tflite.stem)
    try:
        partial.write_bytes(model)
        windows = check_windows(classifier.frames, real_features)
        worst = largest_difference(load_model(partial), load_model(tflite), windows)
        if worst > TOLERANCE:
            raise NotConvertible(f"the ONNX copy differs from LiteRT by {worst:.2g}")
        _stamp(tflite).unlink(missing_ok=True)
        os.replace(partial, target)
        _stamp(tflite).write_text(json.dumps(_stamp_body(tflite, target)) + "\n", "utf-8")
    finally:
        partial.unlink(missing_ok=True)
    log.info("%s: ONNX copy made (agrees with LiteRT to %.1g)", tflite.name, worst)
    return target


def make_copies(tflites: Iterable[Path], features: tuple[Path, Path]) -> list[Path]:
    """An ONNX copy of each classifier that lacks an intact one (`voiced models fetch`). One that
    cannot be made (not a dense classifier, LiteRT or onnx missing on this platform) keeps its
    tflite file, with a warning: the fetch itself never fails for want of a copy."""
    made = []
    real: np.ndarray | None = None
    for tflite in [t for t in tflites if usable_copy(t) is None]:
        try:
            real = _real_features(features) if real is None else real
            made.append(write_onnx_copy(tflite, real))
        except (NotConvertible, ImportError, OSError, ValueError, RuntimeError) as err:
            log.warning("%s: no ONNX copy (%s); it runs on LiteRT", tflite.name, err)
    return made


def _real_features(features: tuple[Path, Path]) -> np.ndarray:
    """Embeddings of the built-in speech clip, to compare the two runtimes on real features."""
    from daemon.models.verify import speech_clip
    from daemon.wake.features import FeatureModels

    return FeatureModels(*features).clip(speech_clip())
