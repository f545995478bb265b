"""FunASR models from ModelScope, for `voiced models fetch funasr` on a device with internet.

The file list comes from the hub's REST API, the endpoints modelscope's own snapshot_download
uses: GET {hub}/api/v1/models/{id}/repo/files?Revision=master&Recursive=true answers every file's
Path, Size, Sha256 and Type, and GET {hub}/api/v1/models/{id}/repo?Revision=master&FilePath=...
serves one. Each file goes through daemon.models.download (a .part file resumed with a Range
request, size and sha256 checked, renamed into place only when intact), so an interrupted fetch
resumes where it stopped and a file already present and intact is not fetched again. The daemon
itself never downloads anything; it loads what this left in models_dir/funasr/<name>/.

The hub is https://modelscope.cn unless an argument or $VOICED_MODELSCOPE_URL names another (a
mirror, or a test's local server).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote_plus

import requests

from daemon.models.download import DownloadError, RemoteFile, download_with_retries, is_present
from daemon.models.progress import plural

__all__ = ["DEFAULT_HUB", "FUNASR_MODELS", "HUB_ENV", "fetch_funasr", "fetch_model", "list_files"]

log = logging.getLogger(__name__)

DEFAULT_HUB = "https://modelscope.cn"
HUB_ENV = "VOICED_MODELSCOPE_URL"
REVISION = "master"
FOLDER = "funasr"  # models_dir/funasr/<name>/, where daemon.asr.funasr looks
ATTEMPTS = 3  # per file; each retry resumes the .part file

# The names FunASR itself uses for these models (funasr/download/name_maps_from_hub.py), which
# are also the seed's models. The seed's "damo/" ids now live under "iic/". The seed punctuated
# with ct-punc-c (iic/punc_ct-transformer_zh-cn-common-vocab272727-pytorch, Chinese only);
# "ct-punc" is FunASR's Chinese-English model, which also handles the English names in requests.
FUNASR_MODELS: dict[str, str] = {
    "paraformer-zh": "iic/speech_seaco_paraformer_large_asr_nat-zh-cn-16k-common-vocab8404-pytorch",
    "paraformer-zh-streaming": (
        "iic/speech_paraformer-large_asr_nat-zh-cn-16k-common-vocab8404-online"
    ),
    "sensevoice-small": "iic/SenseVoiceSmall",
    "ct-punc": "iic/punc_ct-transformer_cn-en-common-vocab471067-large",
    "fsmn-vad": "iic/speech_fsmn_vad_zh-cn-16k-common-pytorch",
}

# Repositories also hold demo audio, figures for their README and ONNX exports; none is loaded.
SKIPPED_FOLDERS = frozenset({"example", "examples", "fig", "figs", "figure", "figures", "image"})
SKIPPED_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".wav", ".mp3", ".onnx"})


def hub_url(hub: str | None = None) -> str:
    return (hub or os.environ.get(HUB_ENV) or DEFAULT_HUB).rstrip("/")


def files_url(hub: str, model_id: str) -> str:
    return f"{hub}/api/v1/models/{model_id}/repo/files?Revision={REVISION}&Recursive=true"


def file_url(hub: str, model_id: str, path: str) -> str:
    return f"{hub}/api/v1/models/{model_id}/repo?Revision={REVISION}&FilePath={quote_plus(path)}"


def wanted(path: str) -> bool:
    """Whether a repository file is one the model needs (not a demo, figure or export)."""
    parts = PurePosixPath(path)
    return parts.parts[0] not in SKIPPED_FOLDERS and parts.suffix.lower() not in SKIPPED_SUFFIXES


def _safe_path(model_id: str, path: str) -> str:
    """A relative path inside the model folder; a hub cannot make us write anywhere else."""
    parts = PurePosixPath(path)
    if not path or parts.is_absolute() or ".." in parts.parts or "\\" in path:
        raise DownloadError(f"{model_id}: refusing the file path {path!r} from the hub")
    return str(parts)


def _remote_file(hub: str, model_id: str, entry: dict[str, Any]) -> RemoteFile:
    path = _safe_path(model_id, str(entry.get("Path", "")))
    size = entry.get("Size")
    return RemoteFile(
        url=file_url(hub, model_id, path),
        path=path,
        size=int(size) if size is not None else None,
        sha256=str(entry["Sha256"]).lower() if entry.get("Sha256") else None,
    )


def _listing(model_id: str, url: str, session: requests.Session) -> list[dict[str, Any]]:
    try:
        response = session.get(url, timeout=30)
    except requests.RequestException as exc:
        raise DownloadError(f"{model_id}: cannot reach the model hub ({exc})") from exc
    if response.status_code != 200:
        raise DownloadError(f"{model_id}: HTTP {response.status_code} listing files at {url}")
    try:
        body = response.json()
        files = body["Data"]["Files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DownloadError(f"{model_id}: unexpected answer listing files at {url}") from exc
    if body.get("Success") is False or not isinstance(files, list):  # errors can come as 200
        raise DownloadError(f"{model_id}: the hub says {body.get('Message', 'no')!r} at {url}")
    return files


def list_files(
    model_id: str, hub: str | None = None, session: requests.Session | None = None
) -> list[RemoteFile]:
    """The files of `model_id` the model needs, with their sizes and sha256 from the hub."""
    hub = hub_url(hub)
    entries = _listing(model_id, files_url(hub, model_id), session or requests.Session())
    blobs = [e for e in entries if isinstance(e, dict) and e.get("Type", "blob") == "blob"]
    files = [_remote_file(hub, model_id, e) for e in blobs]
    return [f for f in files if wanted(f.path)]


def _fetch_file(remote: RemoteFile, folder: Path, session: requests.Session) -> Path:
    return download_with_retries(remote, folder, session, ATTEMPTS)


def fetch_model(
    model_id: str, folder: Path, hub: str | None = None, session: requests.Session | None = None
) -> int:
    """Make `folder` hold `model_id`'s files, intact; returns their total size in bytes."""
    session = session or requests.Session()
    files = list_files(model_id, hub, session)
    if not files:
        raise DownloadError(f"{model_id}: the hub lists no model files")
    folder.mkdir(parents=True, exist_ok=True)
    total = present = 0
    for remote in files:
        if is_present(folder, remote):
            present += 1
            path = folder / remote.path
        else:
            log.info("%s: fetching %s (%s)", model_id, remote.path, _megabytes(remote.size))
            path = _fetch_file(remote, folder, session)
        total += path.stat().st_size
    log.info(
        "%s: %s (%d were already there), %s in %s",
        model_id,
        plural(len(files), "file"),
        present,
        _megabytes(total),
        folder,
    )
    return total


def _megabytes(size: int | None) -> str:
    return "size unknown" if size is None else f"{size / 1e6:.1f} MB"


def fetch_funasr(names: list[str], models_dir: Path, hub: str | None = None) -> dict[str, int]:
    """Fetch FunASR models by catalogue name into models_dir/funasr/<name>/; bytes per model.

    Raises ValueError for a name not in FUNASR_MODELS and DownloadError when a fetch fails (the
    message names the model or file); what was fetched so far stays for the next attempt.
    """
    unknown = [name for name in names if name not in FUNASR_MODELS]
    if unknown:
        raise ValueError(
            f"unknown FunASR model(s) {', '.join(unknown)}; known: {', '.join(FUNASR_MODELS)}"
        )
    session = requests.Session()
    return {
        name: fetch_model(FUNASR_MODELS[name], models_dir / FOLDER / name, hub, session)
        for name in names
    }
