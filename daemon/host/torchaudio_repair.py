"""Makes a CUDA-only torchaudio wheel importable next to a CPU-only torch.

There is no CPU build of torchaudio for the torch this project installs; the PyPI wheel's native
libraries fail to load, and `import torchaudio` then raises OSError (not ImportError), which
breaks ChatTTS and FunASR at import. Without those libraries torchaudio falls back to pure Python
(MelSpectrogram, Resample, kaldi fbank all work). This removes them, only when the import fails
that way, and says so. Run by scripts/setup: python -m daemon.host.torchaudio_repair
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

PROBE = "import torchaudio"


def import_error() -> str | None:
    """The OSError text from importing torchaudio in a fresh interpreter, or None if it works."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    if done.returncode == 0:
        return None
    return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "unknown error"


def repair() -> list[Path]:
    spec = importlib.util.find_spec("torchaudio")
    if spec is None or spec.origin is None:
        return []
    error = import_error()
    if error is None or not error.startswith("OSError"):
        return []
    libs = sorted((Path(spec.origin).parent / "lib").glob("*.so"))
    for lib in libs:
        lib.unlink()
    return libs


def main() -> int:
    removed = repair()
    if removed:
        print("*" * 78)
        print("torchaudio's native libraries do not load with this torch (CUDA-only wheel);")
        print("removed them so torchaudio runs in pure Python:")
        for lib in removed:
            print(f"  {lib}")
        print("*" * 78)
    error = import_error()
    if error is not None and importlib.util.find_spec("torchaudio") is not None:
        print(f"torchaudio still does not import: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
