"""The one error for a model file that is not where the config says it is."""

from __future__ import annotations

from pathlib import Path


class ModelMissing(Exception):
    """A model file or folder is absent. Raised at start-up; the CLI exits 78 with this text."""

    def __init__(self, what: str, path: Path, fetch_command: str) -> None:
        super().__init__(f"{what} not found at {path}; fetch it with: {fetch_command}")
        self.path = path


class ModelDamaged(ModelMissing):
    """A model file is there but wrong: its hash differs from the pinned one, it does not load,
    or it gives impossible answers on known audio. Exit 78 like a missing one; the fetch command
    replaces it."""

    def __init__(self, what: str, path: Path, reason: str, fetch_command: str) -> None:
        Exception.__init__(
            self, f"{what} at {path} is damaged ({reason}); fetch it again with: {fetch_command}"
        )
        self.path = path
