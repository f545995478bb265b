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
from dataclasses import dataclass
from pathlib import Path

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
    frames: int = 16  # embeddings per decision (1.28 s), as openWakeWord's official models


PLANS = {
    # The shipped model (README gives the command); well within 20 minutes on 2 cores.
    "full": Plan(Sizes(1000, 300, 260, 40), Sizes(120, 60, 80, 8), epochs=40),
    "small": Plan(Sizes(200, 60, 40, 10), Sizes(40, 20, 20, 4), epochs=20),
    "tiny": Plan(Sizes(16, 8, 6, 3), Sizes(6, 4, 3, 1), epochs=4),  # tests
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
    with tqdm(total=len(jobs) + plan.epochs, desc=phrase, disable=not show_progress) as bar:
        made = embedded_clips(phrase, seed, own, features, jobs, workers or default_workers())
        for (is_held_out, _, _), item in zip(jobs, made, strict=True):
            if is_held_out:
                held_out.append(item)
            else:
                windows.add(*label_windows(item, plan.frames))
            bar.update(1)
        x, y = windows.arrays()
        del windows
        log.info("training windows: %d (%d positive)", len(y), int(y.sum()))

        from daemon.wake.train.model import export, fit

        model = fit(x, y, seed, plan.epochs, progress=lambda epoch, loss: bar.update(1))
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        candidate = Path(tmp) / out.name
        export(model, plan.frames, candidate, phrase)
        classifier = WakeClassifier.load(candidate)  # the file as the daemon will load it
        results = evaluate(held_out, plan.frames, classifier.score_windows)
        os.replace(candidate, out)
    return Result(out, results, len(y), int(y.sum()), time.monotonic() - started)


def report(result: Result) -> str:
    return (
        f"wrote {result.path} ({result.path.stat().st_size} bytes) in {result.seconds:.0f} s "
        f"from {result.windows} windows ({result.positives} positive)\n"
        f"held-out evaluation (voices, styles and sentences kept out of training):\n"
        f"{table(result.evaluation)}"
    )
