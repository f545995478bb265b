"""Fetching FunASR models from a local stand-in for ModelScope's REST API.

The server speaks the two endpoints the real hub serves (file list with sizes and sha256; one file,
with Range support) and can misbehave on purpose: cut a download short once, or serve bytes that
do not match the listed hash.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import runpy
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from daemon.models.download import DownloadError
from daemon.models.modelscope import FUNASR_MODELS, fetch_funasr, fetch_model, list_files
from tests.fixtures.http import local_server

MODEL_ID = FUNASR_MODELS["paraformer-zh"]
FILES = {
    "configuration.json": b'{"framework": "pytorch", "file_path_metas": {}}',
    "config.yaml": b"model: SeacoParaformer\n",
    "model.pt": bytes(range(256)) * 12288,  # 3 MiB: downloads are written in 1 MiB blocks
}
SKIPPED = {"example/asr_example.wav": b"RIFF....", "fig/struct.png": b"\x89PNG"}



@dataclass
class Hub:
    """What the fake hub serves and how it should misbehave; records what it was asked."""

    files: dict[str, bytes] = field(default_factory=lambda: {**FILES, **SKIPPED})
    extra_listing: list[dict[str, object]] = field(default_factory=list)
    cut_after: dict[str, int] = field(default_factory=dict)  # path -> bytes sent, first time only
    corrupt: set[str] = field(default_factory=set)  # served with a flipped byte
    downloads: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range)
    listings: int = 0

    def listing(self) -> dict[str, object]:
        entries: list[dict[str, object]] = [{"Name": "example", "Path": "example", "Type": "tree"}]
        for path, data in self.files.items():
            entries.append(
                {
                    "Name": Path(path).name,
                    "Path": path,
                    "Size": len(data),
                    "Sha256": hashlib.sha256(data).hexdigest(),
                    "Type": "blob",
                }
            )
        return {"Code": 200, "Data": {"Files": entries + self.extra_listing}, "Success": True}


def _handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    prefix = f"/api/v1/models/{MODEL_ID}/repo"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if url.path == prefix + "/files" and query.get("Recursive") == ["true"]:
                hub.listings += 1
                self._send(200, json.dumps(hub.listing()).encode(), "application/json")
            elif url.path == prefix and "FilePath" in query:
                self._file(query["FilePath"][0])
            else:
                self._send(404, b'{"Code": 404}', "application/json")

        def _send(self, status: int, body: bytes, kind: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def _file(self, path: str) -> None:
            wanted = self.headers.get("Range")
            hub.downloads.append((path, wanted))
            data = hub.files[path]
            if path in hub.corrupt:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            start = int(wanted.removeprefix("bytes=").split("-")[0]) if wanted else 0
            if path in hub.cut_after:  # promise everything, send a little, hang up
                sent = hub.cut_after.pop(path)
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:sent])
                self.wfile.flush()
                self.close_connection = True
                return
            if start:
                rng = f"bytes {start}-{len(data) - 1}/{len(data)}"
                self._send(206, data[start:], "application/octet-stream", Content_Range=rng)
            else:
                self._send(200, data, "application/octet-stream")

    return Handler


@pytest.fixture
def hub() -> Iterator[tuple[Hub, str]]:
    state = Hub()
    with local_server(_handler(state)) as url:
        yield state, url


def _folder(models: Path) -> Path:
    return models / "funasr" / "paraformer-zh"


def test_fetch_writes_the_model_files_and_reports_sizes(hub: tuple[Hub, str], tmp_path: Path):
    state, url = hub
    sizes = fetch_funasr(["paraformer-zh"], tmp_path, hub=url)
    assert sizes == {"paraformer-zh": sum(len(d) for d in FILES.values())}
    folder = _folder(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)  # no demo audio, no figures
    for name, data in FILES.items():
        assert (folder / name).read_bytes() == data
    assert {path for path, _ in state.downloads} == set(FILES)


def test_an_interrupted_download_resumes_with_a_range_request(hub: tuple[Hub, str], tmp_path: Path):
    state, url = hub
    state.cut_after["model.pt"] = 1_500_000  # the first 1 MiB block reaches the .part file
    fetch_funasr(["paraformer-zh"], tmp_path, hub=url)
    model_pt = [rng for path, rng in state.downloads if path == "model.pt"]
    assert model_pt == [None, f"bytes={1 << 20}-"]
    assert (_folder(tmp_path) / "model.pt").read_bytes() == FILES["model.pt"]
    assert not list(_folder(tmp_path).glob("*.part"))


def test_a_corrupt_file_is_rejected_and_not_left_under_its_name(
    hub: tuple[Hub, str], tmp_path: Path
):
    state, url = hub
    state.corrupt.add("model.pt")
    with pytest.raises(DownloadError, match=r"model\.pt.*sha256"):
        fetch_funasr(["paraformer-zh"], tmp_path, hub=url)
    folder = _folder(tmp_path)
    assert not (folder / "model.pt").exists()
    assert not (folder / "model.pt.part").exists()


def test_intact_files_are_not_downloaded_again(hub: tuple[Hub, str], tmp_path: Path):
    state, url = hub
    fetch_funasr(["paraformer-zh"], tmp_path, hub=url)
    (_folder(tmp_path) / "config.yaml").write_bytes(b"damaged\n")  # one file went bad
    state.downloads.clear()
    sizes = fetch_funasr(["paraformer-zh"], tmp_path, hub=url)
    assert [path for path, _ in state.downloads] == ["config.yaml"]
    assert sizes == {"paraformer-zh": sum(len(d) for d in FILES.values())}
    assert (_folder(tmp_path) / "config.yaml").read_bytes() == FILES["config.yaml"]


def test_the_hub_comes_from_the_environment_when_not_given(
    hub: tuple[Hub, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    state, url = hub
    monkeypatch.setenv("VOICED_MODELSCOPE_URL", url + "/")
    assert fetch_model(MODEL_ID, tmp_path / "m") == sum(len(d) for d in FILES.values())
    assert state.listings == 1


def test_a_path_escaping_the_model_folder_is_refused(hub: tuple[Hub, str]):
    state, url = hub
    state.extra_listing.append({"Path": "../../etc/evil", "Size": 1, "Type": "blob"})
    with pytest.raises(DownloadError, match="refusing"):
        list_files(MODEL_ID, url)


def test_an_unknown_model_or_missing_listing_is_an_error(hub: tuple[Hub, str], tmp_path: Path):
    _, url = hub
    with pytest.raises(ValueError, match="unknown FunASR model.*whisper"):
        fetch_funasr(["whisper"], tmp_path, hub=url)
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch_model("iic/not-there", tmp_path / "x", hub=url)


def test_the_catalogue_matches_funasrs_own_names():
    spec = importlib.util.find_spec("funasr")  # found, not imported (that takes seconds)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("funasr is not installed")
    table = Path(next(iter(spec.submodule_search_locations))) / "download/name_maps_from_hub.py"
    name_maps_ms = runpy.run_path(str(table))["name_maps_ms"]
    for name, model_id in FUNASR_MODELS.items():
        # FunASR has no alias for SenseVoice; its README loads it by this id.
        assert name_maps_ms.get(name, "iic/SenseVoiceSmall") == model_id
