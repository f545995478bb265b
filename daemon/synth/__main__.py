"""`python -m daemon.synth request OUT.wav --text 现在几点了`: a spoken request for demos and tests.

Silence, the wake phrase (espeak-ng), a short pause, the request in a real recorded Mandarin
voice (gcin-voice speaker 3) or an espeak voice, then silence; 16 kHz mono 16-bit WAV.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from daemon.synth.espeak import EspeakError, espeak_speech
from daemon.synth.gcin import GcinError, mandarin_speech

RATE = 16000
EX_DATAERR, EX_CANTCREAT, EX_UNAVAILABLE = 65, 73, 69


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


def build_request(text: str, voice: str, wake: str, wake_voice: str) -> np.ndarray:
    said = mandarin_speech(text) if voice == "gcin" else espeak_speech(text, voice)
    wake_audio = espeak_speech(wake, wake_voice)
    return np.concatenate([quiet(0.5), wake_audio, quiet(0.4), said, quiet(1.2)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m daemon.synth")
    sub = parser.add_subparsers(dest="command", required=True)
    request = sub.add_parser("request", help="write one spoken request (wake phrase + text)")
    request.add_argument("out", type=Path)
    request.add_argument("--text", required=True)
    request.add_argument("--voice", default="gcin", help="gcin (real Mandarin) or an espeak voice")
    request.add_argument("--wake", default="hey jarvis")
    request.add_argument("--wake-voice", default="en-us+klatt")
    args = parser.parse_args(argv)
    try:
        audio = build_request(args.text, args.voice, args.wake, args.wake_voice)
    except GcinError as err:
        print(f"daemon.synth: {err}", file=sys.stderr)
        return EX_DATAERR
    except EspeakError as err:
        print(f"daemon.synth: {err}", file=sys.stderr)
        return EX_UNAVAILABLE
    try:
        sf.write(str(args.out), audio, RATE, subtype="PCM_16")
    except (OSError, sf.LibsndfileError) as err:
        print(f"daemon.synth: cannot write {args.out}: {err}", file=sys.stderr)
        return EX_CANTCREAT
    return 0


if __name__ == "__main__":
    sys.exit(main())
