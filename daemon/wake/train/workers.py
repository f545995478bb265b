"""Making and embedding clips is most of training's time; it runs in worker processes (one per
core by default). Each worker loads its own feature models and clip makers once; clips come
back in order, so the result does not depend on the number of workers."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from daemon.wake.features import FeatureModels
from daemon.wake.train.dataset import ClipMaker, Embedded, embed_clip

Job = tuple[bool, str, int]  # held out?, kind, index
_state: dict[str, object] = {}


def _init(
    phrase: str, seed: int, recordings: Sequence[np.ndarray], melspec: Path, embedding: Path
) -> None:
    _state.clear()
    _state.update(
        phrase=phrase, seed=seed, recordings=recordings, features=FeatureModels(melspec, embedding)
    )


def _maker(held_out: bool) -> ClipMaker:
    key = f"maker-{held_out}"
    if key not in _state:
        recordings = () if held_out else _state["recordings"]
        _state[key] = ClipMaker(
            str(_state["phrase"]),
            int(_state["seed"]),
            held_out,
            recordings,  # type: ignore[arg-type, call-overload]
        )
    return _state[key]  # type: ignore[return-value]


def _work(job: Job) -> Embedded:
    held_out, kind, index = job
    clip = _maker(held_out).make(kind, index)
    return embed_clip(clip, _state["features"])  # type: ignore[arg-type]


def embedded_clips(
    phrase: str,
    seed: int,
    recordings: Sequence[np.ndarray],
    features: FeatureModels,
    jobs: list[Job],
    workers: int,
) -> Iterator[Embedded]:
    """Every job's clip, embedded, in job order."""
    args = (phrase, seed, list(recordings), *features.paths)
    if workers <= 1:
        _init(*args)
        yield from map(_work, jobs)
        return
    context = multiprocessing.get_context("spawn")  # the runtimes' threads do not survive fork
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=args) as pool:
        yield from pool.map(_work, jobs, chunksize=2)
