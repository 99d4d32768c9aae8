"""Following an execution's log lines as Cloud Logging shows them: no gaps, no repeats.

Each read asks for the execution's entries from the newest timestamp seen, less OVERLAP_S: Cloud Logging
shows an entry seconds after it was written, so one written before the newest seen can still arrive
late, and the overlap reads it. What the overlap reads twice is dropped by insertId (entries with the
same timestamp are told apart by it too). An entry that becomes visible more than OVERLAP_S after a
later one was seen would be missed; Cloud Logging's delay is seconds, and the same bound is what `run`
waits for a summary (jobs/summaries.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from housejobs.gcp.cloud_logging import LogEntries
from housejobs.gcp.log_query import LogLine, job_filter

OVERLAP_S = 30.0


class LogTail:
    """The new lines of one execution (one task, at least a severity) on each `poll`."""

    def __init__(self, logs: LogEntries, job_id: str, region: str, execution: str, since: datetime, *,
                 task: int | None = None, severity: str | None = None) -> None:
        self.logs = logs
        self._where = (job_id, region, execution, task, severity)
        self.since = since
        self.cursor: datetime | None = None
        self._seen: dict[str, datetime] = {}
        self.broken = False  # a read failed: the follower stops asking (and said why once)

    async def poll(self) -> list[LogLine]:
        """Lines not returned before, in Cloud Logging's order (timestamp, then insertId)."""
        overlap = timedelta(seconds=OVERLAP_S)
        at = self.since if self.cursor is None else max(self.since, self.cursor - overlap)
        job_id, region, execution, task, severity = self._where
        found = await self.logs.lines(job_filter(job_id, region, execution=execution, since=at, task=task,
                                                 severity=severity))
        new = [line for line in found if line.insert_id not in self._seen]
        for line in new:
            self._seen[line.insert_id] = line.time
            if self.cursor is None or line.time > self.cursor:
                self.cursor = line.time
        if self.cursor is not None:  # what the next read cannot return again need not be remembered
            self._seen = {k: t for k, t in self._seen.items() if t >= self.cursor - 2 * overlap}
        return sorted(new, key=lambda line: line.key)
