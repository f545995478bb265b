"""`voiced wake train`: synthesize, featurize, train, export, evaluate; nothing is written under
the output name unless all of it worked.

Heavy imports (torch, onnx) happen only here and in daemon/wake/train/model.py; the daemon
itself never imports this package.
"""

from __future__ import annotations

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
from daemon.wake.train.dataset import ClipMaker, Sizes, Windows, clips, label_clip
from daemon.wake.train.errors import EX_CANTCREAT, TrainError
from daemon.wake.train.evaluate import Evaluation, evaluate, table
from daemon.wake.train.recordings import load_recordings
from daemon.wake.train.voices import CannotSay, Style, say

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    train: Sizes
    held_out: Sizes
    epochs: int
    frames: int = 16  # embeddings per decision (1.28 s), as openWakeWord's official models


PLANS = {
    # The shipped model (README gives the command); about 10 minutes on 2 cores.
    "full": Plan(Sizes(2000, 500, 360, 80), Sizes(200, 120, 120, 10), epochs=40),
    "small": Plan(Sizes(300, 80, 60, 20), Sizes(60, 30, 30, 4), epochs=20),
    "tiny": Plan(Sizes(16, 8, 6, 3), Sizes(6, 4, 3, 1), epochs=4),  # tests
}


@dataclass
class Result:
    path: Path
    evaluation: list[Evaluation]
    windows: int
    positives: int
    seconds: float


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


def featurize(
    maker: ClipMaker, sizes: Sizes, features: FeatureModels, frames: int, bar: object
) -> tuple[np.ndarray, np.ndarray]:
    windows = Windows()
    for clip in clips(maker, sizes):
        windows.add(*label_clip(clip, features, frames))
        bar.update(1)  # type: ignore[attr-defined]
    return windows.arrays()


def train_wake_word(
    phrase: str,
    out: Path,
    features: FeatureModels,
    plan: Plan,
    seed: int = 0,
    recordings: Path | None = None,
    show_progress: bool = True,
) -> Result:
    from tqdm import tqdm

    started = time.monotonic()
    check_output(out)
    check_phrase(phrase)
    own = load_recordings(recordings) if recordings else []
    total = plan.train.total() + plan.held_out.total() + plan.epochs
    with tqdm(total=total, desc=f"training {phrase}", disable=not show_progress) as bar:
        rng = np.random.default_rng(seed)
        maker = ClipMaker(phrase, rng, held_out=False, recordings=own)
        x, y = featurize(maker, plan.train, features, plan.frames, bar)
        log.info("training windows: %d (%d positive)", len(y), int(y.sum()))

        from daemon.wake.train.model import export, fit

        model = fit(x, y, seed, plan.epochs, progress=lambda epoch, loss: bar.update(1))
        with tempfile.TemporaryDirectory(dir=out.parent or ".") as tmp:
            candidate = Path(tmp) / out.name
            export(model, plan.frames, candidate, phrase)
            classifier = WakeClassifier.load(candidate)
            held_out = ClipMaker(phrase, np.random.default_rng(seed + 1_000_003), held_out=True)

            def scored(made: object) -> object:
                bar.update(1)  # type: ignore[attr-defined]
                return made

            results = evaluate(
                (scored(c) for c in clips(held_out, plan.held_out)),  # type: ignore[misc]
                features,
                plan.frames,
                lambda w: np.array([classifier.score(one[None]) for one in w]),
            )
            os.replace(candidate, out)
    return Result(out, results, len(y), int(y.sum()), time.monotonic() - started)


def report(result: Result) -> str:
    return (
        f"wrote {result.path} ({result.path.stat().st_size} bytes) in {result.seconds:.0f} s "
        f"from {result.windows} windows ({result.positives} positive)\n"
        f"held-out evaluation (voices, styles and sentences kept out of training):\n"
        f"{table(result.evaluation)}"
    )
