"""Memory helpers: MKL's buffer cache is turned off unless the environment already decided."""

from __future__ import annotations

import os

import pytest

from daemon.asr import make_transcriber
from daemon.config import AsrSettings
from daemon.host.memory import MKL_CACHE, disable_mkl_buffer_cache, release_free_memory


def test_mkl_cache_is_disabled_when_the_environment_says_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MKL_CACHE, raising=False)
    assert disable_mkl_buffer_cache() is True

    assert os.environ[MKL_CACHE] == "1"


def test_a_value_from_the_unit_or_the_person_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MKL_CACHE, "0")
    assert disable_mkl_buffer_cache() is False

    assert os.environ[MKL_CACHE] == "0"


def test_building_a_whisper_transcriber_disables_it_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    """Even a Whisper model that fails to load has set it: MKL reads it once, at its first
    allocation, so it must come before the model loads."""
    monkeypatch.delenv(MKL_CACHE, raising=False)
    settings = AsrSettings.model_validate({"backend": "whisper"})
    with pytest.raises(Exception):  # noqa: B017 (no model in an empty folder: any load error)
        make_transcriber(settings, tmp_path)  # type: ignore[arg-type]

    assert os.environ.get(MKL_CACHE) == "1"


def test_release_free_memory_never_raises() -> None:
    assert release_free_memory() in (True, False)
