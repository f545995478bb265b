"""The one error of `voiced wake train` and `voiced wake record`: a one-line reason and the
sysexits code the command exits with."""

from __future__ import annotations

EX_DATAERR, EX_NOINPUT, EX_UNAVAILABLE, EX_CANTCREAT = 65, 66, 69, 73


class TrainError(Exception):
    def __init__(self, message: str, exit_code: int = EX_DATAERR) -> None:
        super().__init__(message)
        self.exit_code = exit_code
