"""Where output goes. Logs to stderr, the result to stdout.

Off a terminal every stderr line is one JSON object Cloud Logging understands (severity, message,
time, labels); on a terminal it is a short readable line. Everything written passes `redact.printable`:
secrets masked, control characters a server's text may carry (ESC, C1) made visible.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TextIO

from housejobs.clock import SystemClock, iso_z
from housejobs.redact import printable


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


@dataclass
class Logger:
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    json_lines: bool = True
    debug: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    # The run's clock's `now` (Runtime.logger); a logger made before there is a runtime reads the system's.
    clock: Callable[[], datetime] = field(default_factory=lambda: SystemClock().now)
    # Reentrant: a signal handler that logs (the run boundary's late-signal note) may run while this thread
    # is inside log() holding it.
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def bind(self, **labels: str) -> Logger:
        """A logger with these labels added (empty values dropped). A new one, never this one changed:
        concurrent workers binding their own fields (an org) must not leak them into each other's lines.
        It writes to the same stream under the same lock, so lines never interleave."""
        return replace(self, labels={**self.labels, **{k: v for k, v in labels.items() if v}})

    def log(self, severity: str, message: str, **fields: Any) -> None:
        if severity == "DEBUG" and not self.debug:
            return
        if self.json_lines:
            record: dict[str, Any] = {
                "severity": severity,
                "message": message,
                "time": iso_z(self.clock()),
            }
            if self.labels:
                record["logging.googleapis.com/labels"] = dict(self.labels)
            record.update(fields)
            line = json.dumps(record, default=_default, separators=(",", ":"))
        else:
            extras = " ".join(f"{k}={_short(v)}" for k, v in fields.items() if v is not None)
            tag = "" if severity in ("INFO", "NOTICE") else f"{severity.lower()}: "
            line = f"{tag}{message}" + (f"  [{extras}]" if extras else "")
        with self._lock:
            self.stream.write(printable(line) + "\n")
            self.stream.flush()

    def debug_(self, message: str, **fields: Any) -> None:
        self.log("DEBUG", message, **fields)

    def info(self, message: str, **fields: Any) -> None:
        self.log("INFO", message, **fields)

    def warning(self, message: str, **fields: Any) -> None:
        self.log("WARNING", message, **fields)

    def error(self, message: str, **fields: Any) -> None:
        self.log("ERROR", message, **fields)


def _short(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, default=_default, separators=(",", ":"))
    return str(value)
