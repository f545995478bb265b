"""Downloading model files on a device with internet: resumable, verified, reported.

Used by `voiced models fetch` for hub-hosted models (FunASR from ModelScope, ChatTTS assets). A
file is written to NAME.part, resumed with an HTTP Range request after an interruption, checked
against its expected size and sha256, and only then renamed into place: a half-written or corrupt
file never sits under a model's name. The daemon itself never downloads anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import requests

from daemon.models.packaged import sha256_of
from daemon.models.progress import Progress

log = logging.getLogger(__name__)
CHUNK = 1 << 20


class DownloadError(Exception):
    pass


@dataclass(frozen=True)
class RemoteFile:
    url: str
    path: str  # relative to the model's folder
    size: int | None = None
    sha256: str | None = None


def _verify(part: Path, remote: RemoteFile) -> None:
    if remote.size is not None and part.stat().st_size != remote.size:
        raise DownloadError(
            f"{remote.path}: got {part.stat().st_size} bytes, expected {remote.size}"
        )
    if remote.sha256 and sha256_of(part) != remote.sha256:
        part.unlink()
        raise DownloadError(f"{remote.path}: sha256 mismatch (corrupt download removed)")


def is_present(folder: Path, remote: RemoteFile) -> bool:
    """Already downloaded and intact (size, and sha256 when known)."""
    path = folder / remote.path
    if not path.is_file():
        return False
    if remote.size is not None and path.stat().st_size != remote.size:
        return False
    return not remote.sha256 or sha256_of(path) == remote.sha256


def download(
    remote: RemoteFile, folder: Path, session: requests.Session, timeout: float = 30.0
) -> Path:
    """Fetch one file into `folder`, resuming a previous partial download."""
    final = folder / remote.path
    if is_present(folder, remote):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if remote.size is not None and have > remote.size:
        part.unlink()
        have = 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with session.get(remote.url, headers=headers, stream=True, timeout=timeout) as response:
        if response.status_code == 416 and remote.size == have:
            pass  # already complete: the server has nothing past our end
        elif response.status_code not in (200, 206):
            raise DownloadError(f"{remote.path}: HTTP {response.status_code} from {remote.url}")
        else:
            resumed = response.status_code == 206
            if have and resumed:
                log.info("%s: resuming at %.1f MB", remote.path, have / 1e6)
            progress = Progress(
                remote.path,
                _expected_size(remote, response, have if resumed else 0),
                have if resumed else 0,
            )
            with part.open("ab" if resumed else "wb") as out:
                for block in response.iter_content(CHUNK):
                    out.write(block)
                    progress.update(len(block))
            progress.finish()
    _verify(part, remote)
    part.replace(final)
    return final


def _expected_size(remote: RemoteFile, response: requests.Response, have: int) -> int | None:
    """The whole file's size: known in advance, else what the server says is left plus `have`."""
    if remote.size is not None:
        return remote.size
    length = response.headers.get("Content-Length")
    return int(length) + have if length and length.isdigit() else None


def download_with_retries(
    remote: RemoteFile, folder: Path, session: requests.Session, attempts: int = 3
) -> Path:
    """download() again after a broken connection: each try resumes the .part file."""
    for attempt in range(1, attempts + 1):
        try:
            return download(remote, folder, session)
        except requests.RequestException as exc:
            if attempt == attempts:
                raise DownloadError(f"{remote.path}: {exc} (after {attempts} attempts)") from exc
            log.warning("%s: interrupted (%s); resuming", remote.path, exc)
    raise AssertionError("unreachable")
