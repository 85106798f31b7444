"""Structured JSON logging shared by every service; resident IDs and tokens are masked in every line."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from services.common.identity import scrub_resident_ids

_SECRETS = re.compile(r"(access_token|refresh_token|password)=[^&\s\"]+")


def scrub(text: str) -> str:
    """Mask resident IDs and credentials (e.g. a token in a query string) in a log line."""
    return _SECRETS.sub(r"\1=[removed]", scrub_resident_ids(text))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any `extra` fields."""

    _standard = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in self._standard})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return scrub(json.dumps(entry, ensure_ascii=False, default=str))


def configure_logging(level: str = "INFO") -> None:
    """Send JSON log lines to stderr at `level`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
