"""The persona editor's store: read, validate with the CLI's own messages, save atomically, and
have the daemon reload it (the daemon keeps the old persona if the reload fails)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from daemon.asr.languages import check_persona_language
from daemon.config import AsrSettings, Persona, persona_from_text
from daemon.errors import ConfigError

MAX_PERSONA_BYTES = 64_000


class PersonaStore:
    def __init__(
        self, path: Path, reload: Callable[[], bool], asr: AsrSettings | None = None
    ) -> None:
        self.path = path
        self._reload = reload
        self._asr = asr  # a persona the box's ASR cannot hear is refused before it is saved

    def read(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def validate(self, text: str) -> Persona:
        """Raises ConfigError naming the file and field, as `voiced check` would."""
        if len(text.encode("utf-8")) > MAX_PERSONA_BYTES:
            raise ConfigError(str(self.path), "", f"longer than {MAX_PERSONA_BYTES} bytes")
        persona = persona_from_text(text, self.path)
        if self._asr is not None:
            check_persona_language(self._asr, persona, self.path)
        return persona

    def save(self, text: str) -> Persona:
        """Validate, write beside the file and rename over it (a reader never sees half a file;
        the editor's file mode is kept), then reload. Raises ConfigError, OSError."""
        persona = self.validate(text)
        mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o644
        fd, tmp = tempfile.mkstemp(prefix=".persona-", suffix=".yaml", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if not self._reload():
            raise ConfigError(str(self.path), "", "saved, but the daemon could not reload it")
        return persona
