"""Making and embedding clips is most of training's time; it runs in worker processes (one per
core by default). Each worker loads its own feature models and clip makers once; clips come
back in order, so the result does not depend on the number of workers."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from daemon.wake.features import FeatureModels
from daemon.wake.train.dataset import ClipMaker, Embedded, embed_clip

Job = tuple[bool, str, int]  # held out?, kind, index


@dataclass
class _Worker:
    phrase: str
    seed: int
    recordings: Sequence[np.ndarray]
    features: FeatureModels
    makers: dict[bool, ClipMaker] = field(default_factory=dict)

    def maker(self, held_out: bool) -> ClipMaker:
        if held_out not in self.makers:
            own = () if held_out else self.recordings  # a person's takes are for training only
            self.makers[held_out] = ClipMaker(self.phrase, self.seed, held_out, own)
        return self.makers[held_out]


_worker: list[_Worker] = []  # this process's one worker state


def _init(
    phrase: str, seed: int, recordings: Sequence[np.ndarray], melspec: Path, embedding: Path
) -> None:
    _worker[:] = [_Worker(phrase, seed, recordings, FeatureModels(melspec, embedding))]


def _work(job: Job) -> Embedded:
    held_out, kind, index = job
    worker = _worker[0]
    return embed_clip(worker.maker(held_out).make(kind, index), worker.features)


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
