"""The prod confirmation: the one prompt housejobs shows, here in the CLI where terminals are known.

A run that touches prod (`--env prod`, or any target that is one of prod's: housejobs.target) asks
`This will <action> in prod. Type yes to continue:` unless `--yes` was given or it runs inside a Cloud
Run execution (authorised when it was provisioned or started). On a terminal the question goes to the
terminal itself (/dev/tty), so it is seen even when stdout and stderr go to files; without a terminal
the answer must already be waiting on stdin (`echo yes |`), and silence is a refusal, never a hang.
"""

from __future__ import annotations

import os
import select
from typing import TextIO

from housejobs.context import Context
from housejobs.errors import NotConfirmed
from housejobs.runtime import Runtime

# How long a piped confirmation may take to arrive: `echo yes |` is there at once.
PIPE_WAIT_S = 2.0


def confirm_prod(ctx: Context, action: str) -> None:
    rt = ctx.runtime
    if not ctx.touches_prod or ctx.options.yes or rt.in_cloud_run:
        return
    where = "prod" if ctx.env == "prod" else "prod: " + "; ".join(ctx.prod_reasons)
    prompt = f"This will {action} in {where}. Type yes to continue: "
    answer = _ask_terminal(rt, prompt) if rt.stdin_tty else _piped_answer(rt.stdin)
    if answer.strip().lower() != "yes":
        raise NotConfirmed(f"prod not confirmed, nothing was done: this would {action} in {where}",
                           hint="type yes at the prompt, pipe `echo yes |`, or pass --yes")


def _ask_terminal(rt: Runtime, prompt: str) -> str:
    if rt.terminal is not None:
        try:
            return _ask_device(rt.terminal, prompt)
        except OSError:
            pass  # no controlling terminal after all: ask where stdin's terminal can be seen, if anywhere
    if not rt.stderr_tty and rt.terminal is not None:
        return ""  # the prompt would go to a file while the terminal waits unseen: refuse instead
    try:
        rt.stderr.write(prompt)
        rt.stderr.flush()
        return rt.stdin.readline()
    except (OSError, ValueError):
        return ""


def _ask_device(path: str, prompt: str) -> str:
    # Raw file descriptor I/O: a terminal is not seekable, so Python's "r+" text mode cannot open it.
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, prompt.encode("utf-8"))
        line = b""
        while not line.endswith(b"\n"):
            chunk = os.read(fd, 1024)
            if not chunk:
                break
            line += chunk
        return line.decode("utf-8", "replace")
    finally:
        os.close(fd)


def _piped_answer(stdin: TextIO) -> str:
    """A pipe must already hold the answer (`echo yes |`): never leave the run hanging on a writer that
    says nothing."""
    try:
        fd = stdin.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None  # an in-memory stream: reading it cannot block
    try:
        if fd is not None:
            ready, _, _ = select.select([fd], [], [], PIPE_WAIT_S)
            if not ready:
                return ""
        return stdin.readline()
    except (OSError, ValueError):
        return ""
