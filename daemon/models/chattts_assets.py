"""ChatTTS's asset files: their layout, their pinned hashes, and fetching them from HuggingFace.

The layout is ChatTTS's own (`Chat.load(source="custom")` reads models_dir/chattts/asset/...),
and the hashes are the ones that ship inside the ChatTTS package (ChatTTS/res/sha256_map.json),
so a fetched file is verified against exactly what ChatTTS itself checks at load time. The map is
read as a file: importing ChatTTS would pull in torch just to download.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import requests

from daemon.models.download import DownloadError, RemoteFile, download_with_retries
from daemon.models.progress import plural

log = logging.getLogger(__name__)

FOLDER = "chattts"
REPO = "2Noise/ChatTTS"
DEFAULT_HUB = "https://huggingface.co"
HUB_ENV = "VOICED_HF_URL"
FETCH_COMMAND = "voiced models fetch chattts"
SIDECAR = "voiced-chattts.json"  # shapes and hashes of non-released assets (daemon/tts/chattts.py)
ATTEMPTS = 3  # a dropped connection resumes the .part file where it stopped
ASSET_FILES = (
    "asset/Decoder.safetensors",
    "asset/DVAE.safetensors",
    "asset/Embed.safetensors",
    "asset/Vocos.safetensors",
    "asset/gpt/config.json",
    "asset/gpt/model.safetensors",
    "asset/tokenizer/special_tokens_map.json",
    "asset/tokenizer/tokenizer_config.json",
    "asset/tokenizer/tokenizer.json",
)


def sha256_key(path: str) -> str:
    """ChatTTS's key for an asset path: asset/gpt/config.json -> sha256_asset_gpt_config_json."""
    return "sha256_" + path.replace("/", "_").replace(".", "_")


def packaged_sha256_map() -> dict[str, str]:
    """The hashes of the real assets, from the installed ChatTTS package (not imported)."""
    spec = importlib.util.find_spec("ChatTTS")
    if spec is None or not spec.submodule_search_locations:
        raise DownloadError(
            "the ChatTTS package is not installed (pip install 'voiced[chattts]'): "
            "its sha256 map is what verifies the download"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "res" / "sha256_map.json"
    with path.open(encoding="utf-8") as fh:
        data: dict[str, str] = json.load(fh)
    return data


def asset_hashes(folder: Path) -> dict[str, str]:
    """The sha256 map (ChatTTS's keys) of the asset files present in `folder`."""
    from daemon.models.packaged import sha256_of

    return {sha256_key(path): sha256_of(folder / path) for path in ASSET_FILES}


def remote_files(hub: str, sha256_map: Mapping[str, str]) -> list[RemoteFile]:
    base = f"{hub.rstrip('/')}/{REPO}/resolve/main"
    missing = [path for path in ASSET_FILES if sha256_key(path) not in sha256_map]
    if missing:
        raise DownloadError(f"no sha256 for {', '.join(missing)} in ChatTTS's sha256 map")
    return [
        RemoteFile(url=f"{base}/{path}", path=path, sha256=sha256_map[sha256_key(path)])
        for path in ASSET_FILES
    ]


def fetch_chattts(
    models_dir: Path,
    hub: str | None = None,
    *,
    sha256_map: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
) -> int:
    """Download the ChatTTS assets into models_dir/chattts; returns their total size in bytes.

    `hub` defaults to $VOICED_HF_URL, then huggingface.co (a mirror works the same way). Files
    already present and intact are kept; interrupted downloads resume. `sha256_map` defaults to
    the map inside the ChatTTS package; tests pass the hashes of the tiny files they serve.
    Raises daemon.models.download.DownloadError.
    """
    hub = hub or os.environ.get(HUB_ENV) or DEFAULT_HUB
    hashes = packaged_sha256_map() if sha256_map is None else sha256_map
    folder = models_dir / FOLDER
    session = session or requests.Session()
    total = sum(
        _fetch_file(remote, folder, session).stat().st_size for remote in remote_files(hub, hashes)
    )
    sidecar = folder / SIDECAR
    if sha256_map is None and sidecar.exists():
        sidecar.unlink()  # it described other assets; these are checked against the released ones
        log.warning("removed %s: the folder now holds the released ChatTTS assets", sidecar)
    log.info("ChatTTS: %s, %.1f MB in %s", plural(len(ASSET_FILES), "file"), total / 1e6, folder)
    return total


def _fetch_file(remote: RemoteFile, folder: Path, session: requests.Session) -> Path:
    return download_with_retries(remote, folder, session, ATTEMPTS)
