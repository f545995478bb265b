"""`voiced wake train`: synthesize, featurize, train, export, evaluate; nothing is written under
the output name unless all of it worked.

Heavy imports (torch, onnx) happen only here and in daemon/wake/train/model.py; the daemon
itself never imports this package.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from daemon.wake.classifier import WakeClassifier
from daemon.wake.features import FeatureModels
from daemon.wake.train.corpus import is_chinese
from daemon.wake.train.dataset import Sizes, Windows, label_windows
from daemon.wake.train.errors import EX_CANTCREAT, EX_UNAVAILABLE, TrainError
from daemon.wake.train.evaluate import Evaluation, evaluate, table
from daemon.wake.train.recordings import load_recordings
from daemon.wake.train.voices import CannotSay, Style, say
from daemon.wake.train.workers import embedded_clips

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    train: Sizes
    held_out: Sizes
    epochs: int
    mining_epochs: int = 0  # the second round, on the negatives the first round got wrong
    frames: int = 16  # embeddings per decision (1.28 s), as openWakeWord's official models


NEGATIVE_WEIGHT = 10.0  # negatives weigh this much more than positives in all (false accepts
# cost more than a missed first try)
HARD_SCORE = 0.1  # a negative the first round scores this high is a hard one...
HARD_WEIGHT = 50.0  # ...and counts this many times more in the second round


PLANS = {
    # The shipped model (README gives the command); well within 20 minutes on 2 cores.
    "full": Plan(
        Sizes(positives=600, confusables=250, talk=0, noise=30, long_talk=120),
        Sizes(120, 60, 80, 8),
        epochs=30,
        mining_epochs=15,
    ),
    "small": Plan(Sizes(200, 60, 0, 10, 30), Sizes(40, 20, 20, 4), epochs=15, mining_epochs=5),
    "tiny": Plan(Sizes(16, 8, 2, 3, 1), Sizes(6, 4, 3, 1), epochs=3, mining_epochs=1),  # tests
}


@dataclass
class Result:
    path: Path
    evaluation: list[Evaluation]
    windows: int
    positives: int
    seconds: float


def check_tools(phrase: str) -> None:
    needed = ["torch", "onnx"] + (["pypinyin", "cn2an"] if is_chinese(phrase) else [])
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise TrainError(
            f"training needs {', '.join(missing)}: pip install 'voiced[train]'", EX_UNAVAILABLE
        )


def check_output(out: Path) -> None:
    if out.is_dir():
        raise TrainError(f"{out} is a folder; give a file name ending in .onnx", EX_CANTCREAT)
    if out.suffix != ".onnx":
        raise TrainError(f"{out}: the output must end in .onnx", EX_CANTCREAT)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise TrainError(f"cannot write {out}: {parent} is not a writable folder", EX_CANTCREAT)


def check_phrase(phrase: str) -> None:
    """Every synthesizer training uses must be able to say the phrase."""
    if not any(ch.isalpha() for ch in phrase):
        raise TrainError(f"the phrase {phrase!r} has no words to say")
    styles = [Style("espeak", voice="cmn-latn-pinyin" if is_chinese(phrase) else "en-us")]
    if is_chinese(phrase):
        styles.append(Style("gcin"))
    rng = np.random.default_rng(0)
    for style in styles:
        try:
            audio = say(phrase, style, rng)
        except CannotSay as err:
            raise TrainError(f"cannot say {phrase!r}: {err}") from err
        if len(audio) < 0.2 * 16000:
            raise TrainError(f"{style.source} cannot say {phrase!r} (no speech came out)")


def default_workers() -> int:
    return max(1, min(2, len(os.sched_getaffinity(0))))


def train_wake_word(
    phrase: str,
    out: Path,
    features: FeatureModels,
    plan: Plan,
    seed: int = 0,
    recordings: Path | None = None,
    show_progress: bool = True,
    workers: int | None = None,
) -> Result:
    from tqdm import tqdm

    started = time.monotonic()
    check_output(out)
    check_tools(phrase)
    check_phrase(phrase)
    own = load_recordings(recordings) if recordings else []
    jobs = [(False, kind, i) for kind, i in plan.train.specs()]
    jobs += [(True, kind, i) for kind, i in plan.held_out.specs()]
    windows, held_out = Windows(), []
    steps = len(jobs) + plan.epochs + plan.mining_epochs
    with tqdm(total=steps, desc=phrase, disable=not show_progress) as bar:
        made = embedded_clips(phrase, seed, own, features, jobs, workers or default_workers())
        for (is_held_out, _, _), item in zip(jobs, made, strict=True):
            if is_held_out:
                held_out.append(item)
            else:
                windows.add(item.embeddings, *label_windows(item, plan.frames))
            bar.update(1)
        embeddings, starts, y = windows.arrays()
        del windows
        log.info("training windows: %d (%d positive)", len(y), int(y.sum()))
        model = train_classifier(embeddings, starts, y, plan, seed, lambda: bar.update(1))
        from daemon.wake.train.model import export
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        candidate = Path(tmp) / out.name
        export(model, plan.frames, candidate, phrase)
        classifier = WakeClassifier.load(candidate)  # the file as the daemon will load it
        results = evaluate(held_out, plan.frames, classifier.score_windows)
        os.replace(candidate, out)
    return Result(out, results, len(y), int(y.sum()), time.monotonic() - started)


def train_classifier(
    embeddings: np.ndarray,
    starts: np.ndarray,
    labels: np.ndarray,
    plan: Plan,
    seed: int,
    tick: Callable[[], None],
) -> Any:
    """Two rounds: all windows with balanced class weights; then the same windows again with
    the negatives the first model scored at or above HARD_SCORE counting HARD_WEIGHT times more
    (hard-negative mining: the rare talk that sounds like the phrase is what false accepts are
    made of, and in hours of talk it is a tiny share of the loss)."""
    from daemon.wake.train.model import class_weights, fit, scores

    weights = class_weights(labels, NEGATIVE_WEIGHT)
    model = fit(
        embeddings, starts, labels, plan.frames, seed, plan.epochs, weights,
        progress=lambda epoch, loss: tick(),
    )  # fmt: skip
    if not plan.mining_epochs:
        return model
    hard = (labels < 0.5) & (scores(model, embeddings, starts, plan.frames) >= HARD_SCORE)
    log.info("hard negatives: %d of %d", int(hard.sum()), int((labels < 0.5).sum()))
    weights = class_weights(labels, NEGATIVE_WEIGHT) * np.where(hard, HARD_WEIGHT, 1.0)
    return fit(
        embeddings, starts, labels, plan.frames, seed + 1, plan.mining_epochs,
        weights.astype(np.float32), model=model, learning_rate=3e-4,
        progress=lambda epoch, loss: tick(),
    )  # fmt: skip


def report(result: Result) -> str:
    return (
        f"wrote {result.path} ({result.path.stat().st_size} bytes) in {result.seconds:.0f} s "
        f"from {result.windows} windows ({result.positives} positive)\n"
        f"held-out evaluation (voices, styles and sentences kept out of training):\n"
        f"{table(result.evaluation)}"
    )
