"""scripts/bench: run the benchmarks, print and store JSON results with the machine described.

scripts/bench [NAME ...]      names: listen-cost, asr, ... (default: all)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.bench import (
    asr_bench,
    asr_tuning,
    barge_in,
    console_bench,
    endpointing,
    funasr_bench,
    latency,
    listen_cost,
    llm_overhead,
    memory,
    noise_bench,
    serve_bench,
    tts_bench,
    wake_bench,
    wake_score,
    wake_verify,
    wyoming_bench,
)
from tests.bench.machine import describe
from tests.fixtures.audio import AudioBuilder

BENCHMARKS: dict[str, Callable[[AudioBuilder], dict[str, object]]] = {
    "listen-cost": listen_cost.run,
    "llm-overhead": llm_overhead.run,
    "funasr": funasr_bench.run,
    "tts": tts_bench.run,
    "endpointing": endpointing.run,
    "latency": latency.run,
    "barge-in": barge_in.run,
    "serve": serve_bench.run,
    "wake": wake_bench.run,
    "wake-verify": wake_verify.run,
    "wake-score": wake_score.run,
    "asr": asr_bench.run,
    "asr-tuning": asr_tuning.run,
    "web-console": console_bench.run,
    "wyoming": wyoming_bench.run,
    "memory": memory.run,
    "noise": noise_bench.run,
}
OUT = Path(__file__).resolve().parents[2] / "out" / "bench"


def main() -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench")
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS))
    names = parser.parse_args().names or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="voiced-bench-") as tmp:
        audio = AudioBuilder(Path(tmp))
        for name in names:
            result = {
                "benchmark": name,
                "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "machine": describe(),
                "results": BENCHMARKS[name](audio),
            }
            text = json.dumps(result, indent=2)
            (OUT / f"{name}.json").write_text(text + "\n")
            print(text)


if __name__ == "__main__":
    main()
