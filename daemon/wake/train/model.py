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

HIDDEN = 32  # openWakeWord's default layer size: small enough not to memorize the talk
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


def fit(
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    epochs: int,
    negative_weight: float = 10.0,
    progress: Callable[[int, float], None] | None = None,
) -> Any:
    """Train on windows `x` (n, frames, 96) with labels `y`; returns the torch model."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # two threads spin on a busy machine for a model this small
    model = build(x.shape[1])
    data = torch.from_numpy(x)
    labels = torch.from_numpy(y)
    positives = max(float(y.sum()), 1.0)
    # Both classes weigh the same in total, then negatives count `negative_weight` times more.
    weights = torch.where(
        labels > 0.5, 1.0 / positives, negative_weight / max(len(y) - positives, 1.0)
    ) * len(y)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(y), generator=generator)
        total = 0.0
        for batch in order.split(512):
            scores = model(data[batch]).squeeze(1)
            loss = torch.nn.functional.binary_cross_entropy(
                scores, labels[batch], weight=weights[batch]
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        schedule.step()
        if progress:
            progress(epoch, total / len(y))
    model.eval()
    return model


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
