"""A Home Assistant satellite loads no speech model: HA hears its requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.asr.elsewhere import HeardByHomeAssistant
from daemon.config import load_settings
from daemon.errors import ErrorCode, StageError
from daemon.service import make_asr
from tests.conftest import REPO


def settings_with(tmp_path: Path, voiced: str) -> object:
    (tmp_path / "voiced.yaml").write_text(voiced, encoding="utf-8")
    persona = (REPO / "config" / "persona.yaml").read_text(encoding="utf-8")
    (tmp_path / "persona.yaml").write_text(persona, encoding="utf-8")
    return load_settings(tmp_path / "voiced.yaml")


def test_a_satellite_loads_no_asr_even_if_its_model_is_missing(tmp_path: Path) -> None:
    """FunASR (the default) is not fetched here: loading it would stop start-up (exit 78)."""
    settings = settings_with(tmp_path, "mode: ha-satellite\n")
    asr = make_asr(settings)  # type: ignore[arg-type]
    assert isinstance(asr, HeardByHomeAssistant)
    with pytest.raises(StageError) as err:
        asr.start()
    assert err.value.code is ErrorCode.ASR_FAILED
    assert "Home Assistant" in err.value.detail


def test_a_standalone_box_loads_its_configured_asr(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, "asr:\n  backend: pocketsphinx\n")
    asr = make_asr(settings)  # type: ignore[arg-type]
    assert asr.name == "pocketsphinx"
