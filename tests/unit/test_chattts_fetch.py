"""Fetching ChatTTS's assets from a local stand-in for HuggingFace's resolve/main URLs.

The stand-in serves files under /2Noise/ChatTTS/resolve/main/<path>, honours Range, and can cut
a download short once or serve a corrupt byte. The real hashes come from the ChatTTS package.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from daemon.models.chattts_assets import (
    ASSET_FILES,
    DEFAULT_HUB,
    fetch_chattts,
    packaged_sha256_map,
    remote_files,
    sha256_key,
)
from daemon.models.download import DownloadError
from tests.fixtures.http import local_server, send_file

PREFIX = "/2Noise/ChatTTS/resolve/main/"



@dataclass
class Hub:
    files: dict[str, bytes] = field(
        default_factory=lambda: {
            p: f"{p}\n".encode() * (4096 + i) for i, p in enumerate(ASSET_FILES)
        }
    )
    cut_after: dict[str, int] = field(default_factory=dict)  # path -> bytes sent, first time only
    corrupt: set[str] = field(default_factory=set)
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range)

    def hashes(self) -> dict[str, str]:
        return {sha256_key(p): hashlib.sha256(data).hexdigest() for p, data in self.files.items()}


def _handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            path = self.path.removeprefix(PREFIX)
            hub.requests.append((path, self.headers.get("Range")))
            if not self.path.startswith(PREFIX) or path not in hub.files:
                self.send_response(404)
                self.end_headers()
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


def test_every_asset_has_a_hash_in_the_packaged_map_and_nothing_else_does() -> None:
    packaged = packaged_sha256_map()
    assert {sha256_key(p) for p in ASSET_FILES} == set(packaged)
    assert sha256_key("asset/gpt/model.safetensors") == "sha256_asset_gpt_model_safetensors"


def test_urls_follow_huggingfaces_resolve_layout() -> None:
    files = remote_files(DEFAULT_HUB, packaged_sha256_map())
    decoder = next(f for f in files if f.path == "asset/Decoder.safetensors")
    # Only the URL is built here; nothing is fetched from the hub.
    assert decoder.url == f"{DEFAULT_HUB}/2Noise/ChatTTS/resolve/main/asset/Decoder.safetensors"
    assert decoder.sha256 == packaged_sha256_map()["sha256_asset_Decoder_safetensors"]


def test_fetch_writes_chatttss_layout_and_keeps_intact_files(
    hub: tuple[Hub, str], tmp_path: Path
) -> None:
    state, url = hub
    total = fetch_chattts(tmp_path, url, sha256_map=state.hashes())
    assert total == sum(len(d) for d in state.files.values())
    for path, data in state.files.items():
        assert (tmp_path / "chattts" / path).read_bytes() == data
    assert sorted(p for p, _ in state.requests) == sorted(ASSET_FILES)
    state.requests.clear()
    fetch_chattts(tmp_path, url, sha256_map=state.hashes())
    assert state.requests == []  # all present and verified: nothing downloaded again


def test_the_hub_comes_from_the_environment(
    hub: tuple[Hub, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, url = hub
    monkeypatch.setenv("VOICED_HF_URL", url)
    assert fetch_chattts(tmp_path, sha256_map=state.hashes()) > 0
    assert len(state.requests) == len(ASSET_FILES)


def test_an_interrupted_download_resumes(hub: tuple[Hub, str], tmp_path: Path) -> None:
    state, url = hub
    gpt = "asset/gpt/model.safetensors"
    state.files[gpt] = bytes(range(256)) * 12288  # 3 MiB: written in 1 MiB blocks
    state.cut_after[gpt] = 1_500_000  # the first block reaches the .part file, then a hang-up
    fetch_chattts(tmp_path, url, sha256_map=state.hashes())
    assert [r for p, r in state.requests if p == gpt] == [None, "bytes=1048576-"]
    assert (tmp_path / "chattts" / gpt).read_bytes() == state.files[gpt]


def test_a_hub_that_cannot_be_reached_is_a_download_error(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="after 3 attempts"):
        fetch_chattts(tmp_path, "http://127.0.0.1:9", sha256_map=Hub().hashes())


def test_a_corrupt_file_is_rejected_and_never_lands_under_its_name(
    hub: tuple[Hub, str], tmp_path: Path
) -> None:
    state, url = hub
    state.corrupt.add("asset/Vocos.safetensors")
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        fetch_chattts(tmp_path, url, sha256_map=state.hashes())
    assert not (tmp_path / "chattts" / "asset" / "Vocos.safetensors").exists()


def test_files_are_checked_against_the_hashes_inside_the_chattts_package(
    hub: tuple[Hub, str], tmp_path: Path
) -> None:
    _, url = hub  # serves files that are not the real weights
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        fetch_chattts(tmp_path, url)
    assert not list((tmp_path / "chattts").rglob("*.safetensors"))


def test_fetching_the_released_assets_removes_a_sidecar_that_described_others(
    hub: tuple[Hub, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.models import chattts_assets

    state, url = hub
    monkeypatch.setattr(chattts_assets, "packaged_sha256_map", state.hashes)  # "released" = served
    sidecar = tmp_path / "chattts" / chattts_assets.SIDECAR
    sidecar.parent.mkdir(parents=True)
    sidecar.write_text("{}")
    fetch_chattts(tmp_path, url)
    assert not sidecar.exists()
