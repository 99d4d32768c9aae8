"""Time and retries, enforced on the source (DESIGN.md, Retries; issue 22):

- No clock read outside clock.py: nothing under src/housejobs but clock.py reads or names `time.monotonic`,
  `time.time`, `time.perf_counter` (and their `_ns` forms), `datetime.now` / `utcnow` / `today`,
  `date.today`, `time.sleep` or `asyncio.sleep`, however imported; the run's injected clock does. The
  sandbox, a server of its own, aside.
- One retry loop: only api/retry.py imports tenacity or computes a backoff, and no loop elsewhere waits
  (calls something named sleep or pause) between its rounds, but the few poll loops listed below, which
  wait for a state (an execution to end, its log lines to arrive), not for a failure to pass.

What the loop check cannot see: a loop that waits by other means (Event.wait, asyncio.wait_for with a
timeout) or retries at once without waiting; the tenacity and backoff rules make such a loop the odd one
out in review. Each scanner is shown to catch what it exists for, on the code it replaced.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "housejobs"

CLOCK_READS = frozenset({
    "time.monotonic", "time.monotonic_ns", "time.time", "time.time_ns", "time.perf_counter",
    "time.perf_counter_ns", "time.sleep", "asyncio.sleep",
    "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today", "datetime.date.today",
})
CLOCK_READERS = ("clock.py", "sandbox/")
RETRY_HOME = "api/retry.py"
# Loops that wait for a state, not for a failure to pass (file, enclosing function). Each waits with
# jobs/waiting.py's sleep_or_stop, which a signal cuts short; a failed read ends them, it is not retried.
POLL_LOOPS = {
    ("jobs/cloud_run.py", "follow"),  # an execution, until it completes
    ("jobs/logs.py", "read_logs"),  # logs --follow: an execution's lines, until it completes
    ("jobs/summaries.py", "read_summaries"),  # its run_summary lines, until Cloud Logging has them all
}


def sources() -> dict[str, str]:
    return {str(p.relative_to(SRC)): p.read_text(encoding="utf-8") for p in sorted(SRC.rglob("*.py"))}


def aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> what it was imported as: `time` -> time, `dt` -> datetime.datetime, `sleep` -> time.sleep."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                names[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def dotted(node: ast.AST, names: dict[str, str]) -> str | None:
    """The imported thing an expression like `datetime.now` or `time.sleep` names, if it names one."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in names:
        return ".".join([names[node.id], *reversed(parts)])
    return None


def clock_reads(source: str) -> list[str]:
    """Every line that reads or names the system clock directly (called or passed along: `default=time.sleep`)."""
    tree = ast.parse(source)
    names = aliases(tree)
    return sorted({f"{node.lineno}: {name}" for node in ast.walk(tree) if isinstance(node, ast.Attribute | ast.Name)
                   and (name := dotted(node, names)) in CLOCK_READS})


def tenacity_imports(source: str) -> bool:
    return any(m == "tenacity" or m.startswith("tenacity.") for m in aliases(ast.parse(source)).values())


def backoff_uses(source: str) -> list[int]:
    """Lines that name the backoff formula: whoever computes the wait is running a loop of their own."""
    tree = ast.parse(source)
    names = aliases(tree)
    return sorted({node.lineno for node in ast.walk(tree) if isinstance(node, ast.Name | ast.Attribute)
                   and (dotted(node, names) or "").endswith("api.retry.backoff")})


def _body(loop: ast.AST) -> list[ast.AST]:
    """A loop's nodes, without the functions and classes defined inside it (they run elsewhere)."""
    out: list[ast.AST] = []
    todo = list(ast.iter_child_nodes(loop))
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        out.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return out


def _waits(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return "sleep" in name.lower() or name in ("pause", "backoff")


def waiting_loops(source: str) -> list[tuple[str, int]]:
    """(enclosing function, line) of every loop that waits between its rounds."""
    tree = ast.parse(source)
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, ast.For | ast.AsyncFor | ast.While) and any(
                    isinstance(n, ast.Call) and _waits(n) for n in _body(child)):
                found.append((function, child.lineno))
            visit(child, inner)

    visit(tree, "")
    return found


# --- the rules, on src/housejobs --------------------------------------------------------------------------
def test_only_clock_py_reads_the_clock() -> None:
    found = {rel: hits for rel, text in sources().items()
             if not rel.startswith(CLOCK_READERS) and (hits := clock_reads(text))}
    assert found == {}, "read the injected clock (housejobs.clock.Clock) instead"


def test_only_api_retry_imports_tenacity_or_computes_a_backoff() -> None:
    found = {rel for rel, text in sources().items()
             if rel != RETRY_HOME and (tenacity_imports(text) or backoff_uses(text))}
    assert found == set(), "retry through housejobs.api.retry.retrying / retrying_in_thread"


def test_no_loop_outside_api_retry_waits_between_tries() -> None:
    found = {(rel, function, line) for rel, text in sources().items() if rel != RETRY_HOME
             for function, line in waiting_loops(text) if (rel, function) not in POLL_LOOPS}
    assert found == set(), "a loop that waits and goes round again is a retry loop: use housejobs.api.retry"


def test_the_poll_loop_exemptions_are_still_needed() -> None:
    # An exemption outliving its loop would let a new loop of that name through unseen.
    text = sources()
    assert {(rel, function) for rel, function in POLL_LOOPS
            if any(f == function for f, _ in waiting_loops(text[rel]))} == POLL_LOOPS


# --- the scanners catch what they exist for: the code they replaced, and the ways to spell a clock read ----
OLD_CLOUD_RUN_READ = """
from housejobs.api.retry import backoff
async def _read(self, call):
    attempt = 0
    while True:
        attempt += 1
        try:
            return await in_thread(call)
        except Exception as exc:
            wait = backoff(attempt, self.policy, self._rng)
            await self.clock.sleep(wait)
"""

OLD_SINK_DELIVERY = """
import time
from dataclasses import field
class Delivery:
    sleep = field(default=time.sleep)
    def _send(self):
        for attempt in range(1, 3):
            left = self.deadline - time.monotonic()
            wait = self._attempt(left)
            if wait is None:
                return
            self.sleep(wait)
"""


def test_the_replaced_loops_would_be_caught() -> None:
    assert waiting_loops(OLD_CLOUD_RUN_READ) == [("_read", 5)]
    assert backoff_uses(OLD_CLOUD_RUN_READ) == [10]
    assert waiting_loops(OLD_SINK_DELIVERY) == [("_send", 7)]
    assert clock_reads(OLD_SINK_DELIVERY) == ["5: time.sleep", "8: time.monotonic"]


def test_every_spelling_of_a_clock_read_is_caught() -> None:
    source = """
import time as t, asyncio, datetime as dt
from time import monotonic
from datetime import date, datetime
a = t.time(); b = monotonic(); c = datetime.now(); d = date.today(); e = dt.datetime.utcnow()
async def f():
    await asyncio.sleep(1)
g = t.perf_counter_ns
"""
    assert clock_reads(source) == sorted([
        "5: time.time", "5: time.monotonic", "5: datetime.datetime.now", "5: datetime.date.today",
        "5: datetime.datetime.utcnow", "7: asyncio.sleep", "8: time.perf_counter_ns"])
    # The injected clock's methods and other uses of the modules are not reads.
    assert clock_reads("import time, datetime\nx = self.clock.monotonic()\ny = datetime.timedelta(1)\n"
                       "z = time.strftime\n") == []


def test_tenacity_is_caught_however_imported() -> None:
    assert tenacity_imports("from tenacity import AsyncRetrying\n")
    assert tenacity_imports("import tenacity.stop as s\n")
    assert not tenacity_imports("from housejobs.api.retry import retrying\n")
