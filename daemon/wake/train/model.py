"""The classifier openWakeWord puts on top of its features, trained with torch and exported to
ONNX so the box runs it on onnxruntime (no torch at run time).

As openWakeWord's own models: flatten (frames x 96) -> a small fully connected network with
layer norm -> one sigmoid score. Negatives far outnumber positives; they are weighted so that
the score stays low on everything that is not the phrase (false accepts cost more than a
missed first try).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from daemon.wake.features import EMBEDDING_DIM

HIDDEN = 64  # twice openWakeWord's default: fewer false accepts on voices never heard
# (validation voices, with HARD_WEIGHT 50: 59.8 false accepts per hour against 64.9 with 32 and
# 20, detection the same), still a 400 KB file
METADATA_PHRASE = "voiced.wake_phrase"


def build(frames: int) -> Any:  # a torch module (torch is imported lazily)
    import torch.nn as nn

    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(frames * EMBEDDING_DIM, HIDDEN),
        nn.LayerNorm(HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, HIDDEN),
        nn.LayerNorm(HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, 1),
        nn.Sigmoid(),
    )


def class_weights(labels: np.ndarray, negative_weight: float) -> np.ndarray:
    """Both classes weigh the same in total, then negatives count `negative_weight` times more;
    the mean weight is 1."""
    positives = max(float(labels.sum()), 1.0)
    negatives = max(len(labels) - positives, 1.0)
    per_class = np.where(labels > 0.5, 1.0 / positives, negative_weight / negatives)
    return (per_class * len(labels) / (1.0 + negative_weight)).astype(np.float32)


def fit(
    embeddings: np.ndarray,
    starts: np.ndarray,
    labels: np.ndarray,
    frames: int,
    seed: int,
    epochs: int,
    weights: np.ndarray,
    model: Any = None,
    learning_rate: float = 1e-3,
    progress: Callable[[int, float], None] | None = None,
) -> Any:
    """Train on the windows of `embeddings` (n, 96) that begin at `starts` (frames long) with
    `labels` and per-window `weights`; a new model, or `model` trained further. Returns it."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # two threads spin on a busy machine for a model this small
    model = build(frames) if model is None else model
    data = torch.from_numpy(embeddings)
    offsets = torch.arange(frames)
    begin = torch.from_numpy(starts)
    target = torch.from_numpy(labels)
    weight = torch.from_numpy(weights)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(labels), generator=generator)
        total = 0.0
        for batch in order.split(1024):
            windows = data[begin[batch, None] + offsets]
            scores = model(windows).squeeze(1)
            loss = torch.nn.functional.binary_cross_entropy(
                scores, target[batch], weight=weight[batch]
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        schedule.step()
        if progress:
            progress(epoch, total / len(labels))
    model.eval()
    return model


def scores(model: Any, embeddings: np.ndarray, starts: np.ndarray, frames: int) -> np.ndarray:
    """The model's score of every window (for mining the negatives it gets wrong)."""
    import torch

    data = torch.from_numpy(embeddings)
    offsets = torch.arange(frames)
    out = []
    with torch.no_grad():
        for batch in torch.from_numpy(starts).split(8192):
            out.append(model(data[batch[:, None] + offsets]).squeeze(1).numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def export(model: Any, frames: int, path: Path, phrase: str) -> None:
    """Write the model as openWakeWord's ONNX format: input (1, frames, 96), output (1, 1)."""
    import onnx
    import torch

    torch.onnx.export(
        model,
        (torch.zeros(1, frames, EMBEDDING_DIM),),
        str(path),
        input_names=["input"],
        output_names=["score"],
        dynamo=False,
        opset_version=17,
    )
    proto = onnx.load(str(path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_PHRASE, phrase
    onnx.save(proto, str(path))
