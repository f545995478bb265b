"""How a wake model does on clips it never heard: detection rate, latency after the phrase's end,
false accepts per hour of talk, and how many confusable phrases fired it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from daemon.wake.train.dataset import Embedded, embedding_end, windows_of

Scorer = Callable[[np.ndarray], np.ndarray]  # (n, frames, 96) -> (n,) scores
DETECT_AFTER = 1.0  # a detection up to this long after the phrase's end counts
REFRACTORY = 2.0  # as the daemon's wake.refractory_seconds


def clip_scores(item: Embedded, frames: int, scorer: Scorer) -> tuple[np.ndarray, np.ndarray]:
    """(times, scores) of every window of the clip."""
    x, ends = windows_of(item.embeddings, frames)
    return embedding_end(ends), scorer(x) if len(x) else np.zeros(0)


def firings(times: np.ndarray, scores: np.ndarray, threshold: float) -> list[float]:
    """Times the detector would fire, with the daemon's refractory period."""
    fired: list[float] = []
    for t, s in zip(times, scores, strict=True):
        if s >= threshold and (not fired or t - fired[-1] >= REFRACTORY):
            fired.append(float(t))
    return fired


@dataclass
class Evaluation:
    threshold: float
    positives: int = 0
    detected: int = 0
    latencies: list[float] = field(default_factory=list)
    negative_seconds: float = 0.0
    false_accepts: int = 0
    confusables: int = 0
    confusables_fired: int = 0
    by_style: dict[str, list[int]] = field(default_factory=dict)

    def add(self, clip: Embedded, times: np.ndarray, scores: np.ndarray) -> None:
        fired = firings(times, scores, self.threshold)
        if clip.phrase is None:
            if clip.kind == "confusable":
                self.confusables += 1
                self.confusables_fired += bool(fired)
            else:
                self.negative_seconds += clip.seconds
                self.false_accepts += len(fired)
            return
        start, end = clip.phrase
        hits = [t for t in fired if start <= t <= end + DETECT_AFTER]
        self.positives += 1
        source = clip.style.split(" ")[0].split("+")[0]
        counts = self.by_style.setdefault(source, [0, 0])
        counts[1] += 1
        if hits:
            self.detected += 1
            counts[0] += 1
            self.latencies.append(hits[0] - end)

    def summary(self) -> dict[str, object]:
        hours = self.negative_seconds / 3600
        return {
            "threshold": self.threshold,
            "detection_rate": round(self.detected / self.positives, 4) if self.positives else None,
            "positives": self.positives,
            "latency_p50_ms": _ms(np.percentile(self.latencies, 50)) if self.latencies else None,
            "latency_p95_ms": _ms(np.percentile(self.latencies, 95)) if self.latencies else None,
            "negative_hours": round(hours, 3),
            "false_accepts": self.false_accepts,
            "false_accepts_per_hour": round(self.false_accepts / hours, 2) if hours else None,
            "confusables_fired": f"{self.confusables_fired}/{self.confusables}",
            "detected_by_source": {k: f"{v[0]}/{v[1]}" for k, v in sorted(self.by_style.items())},
        }


def _ms(seconds: float) -> int:
    return round(float(seconds) * 1000)


def evaluate(
    clips: Iterable[Embedded],
    frames: int,
    scorer: Scorer,
    thresholds: tuple[float, ...] = (0.3, 0.5, 0.7),
) -> list[Evaluation]:
    results = [Evaluation(t) for t in thresholds]
    for clip in clips:
        times, scores = clip_scores(clip, frames, scorer)
        for result in results:
            result.add(clip, times, scores)
    return results


def table(results: list[Evaluation]) -> str:
    """The evaluation as a plain text table, one row per threshold."""
    head = "threshold  detected         p50 ms  p95 ms  FA/hour (talk h)  confusables fired"
    rows = [head]
    for r in results:
        s = r.summary()
        rows.append(
            f"{r.threshold:<9.2f}  {r.detected:>4}/{r.positives:<4} {_pct(s):>6}  "
            f"{_opt(s['latency_p50_ms']):>6}  {_opt(s['latency_p95_ms']):>6}  "
            f"{_opt(s['false_accepts_per_hour']):>7} ({s['negative_hours']})  "
            f"{s['confusables_fired']:>10}"
        )
    return "\n".join(rows)


def _pct(summary: dict[str, object]) -> str:
    rate = summary["detection_rate"]
    return "-" if rate is None else f"{100 * float(rate):.1f}%"  # type: ignore[arg-type]


def _opt(value: object) -> str:
    return "-" if value is None else str(value)
