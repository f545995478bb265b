"""Log line format: plain lines with a timestamp on a terminal; under journald, no timestamp (the
journal keeps its own) and a syslog priority prefix ("<4>"), so `journalctl -p warning` picks out
the problems. journald reads the prefix from a service's stderr (SyslogLevelPrefix=yes, the
default) and strips it from the stored message."""

from __future__ import annotations

import logging
import os

PRIORITIES = {  # syslog levels (sd-daemon.h: SD_ERR "<3>" ...)
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
FORMAT = "%(levelname)s %(name)s: %(message)s"


def priority(levelno: int) -> int:
    """The syslog priority of a logging level (custom levels round down to the nearest)."""
    known = [level for level in sorted(PRIORITIES) if level <= levelno]
    return PRIORITIES[known[-1]] if known else PRIORITIES[logging.DEBUG]


class JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"<{priority(record.levelno)}>{super().format(record)}"


def under_journald() -> bool:
    return bool(os.environ.get("JOURNAL_STREAM"))


def formatter() -> logging.Formatter:
    if under_journald():
        return JournalFormatter(FORMAT)
    return logging.Formatter("%(asctime)s " + FORMAT)
