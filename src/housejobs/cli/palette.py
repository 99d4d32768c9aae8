"""How every state looks, in one table: an outcome's colour, a check's mark, a history slot's glyph, colour
and words. The terminal (cli/terminal.py, rich style names), the plain text (cli/text.py: the glyphs) and
the history page (cli/history_html.py: the fills) all draw from here, so a state looks the same wherever
it is shown, and its legend says so.

Slot states come in one order, the one their counts keep (gcp/records.SLOT_STATES): every listing of them
(the grid's legend, the page's) follows it. `unchanged` is how a cell shows a success the job said changed
nothing (duplicate, skipped, dry-run): drawn apart from one that applied, listed right after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from housejobs.gcp.records import CANCELLED, FAILED, MISSED, PENDING, RUNNING, SLOT_STATES, SUCCEEDED, UPCOMING
from housejobs.results import Outcome

# A run's outcome, coloured in its summary line.
OUTCOMES: dict[Outcome, str] = {
    Outcome.APPLIED: "green", Outcome.DUPLICATE: "cyan", Outcome.SKIPPED: "cyan", Outcome.DRY_RUN: "yellow",
    Outcome.REFUSED: "red", Outcome.PARTIAL: "yellow", Outcome.FAILED: "red", Outcome.INTERRUPTED: "yellow",
    Outcome.STARTED: "cyan", Outcome.UNCONFIRMED: "yellow"}


@dataclass(frozen=True)
class Look:
    glyph: str
    style: str  # on a terminal: a rich style
    fill: str  # on the history page
    words: str  # in a legend


# A check in a checklist (doctor, smoke), passed or not: its mark and colour.
CHECKS: dict[bool, tuple[str, str]] = {True: ("✓", "green"), False: ("✗", "red")}

UNCHANGED = "unchanged"
_SLOT_LOOKS = {
    SUCCEEDED: Look("✓", "green", "#2e9e44", "succeeded (applied)"),
    UNCHANGED: Look("=", "dim green", "#8cc79a", "succeeded, changed nothing (duplicate, skipped)"),
    FAILED: Look("✗", "red", "#d1242f", FAILED),
    CANCELLED: Look("⊘", "yellow", "#bf8700", CANCELLED),
    RUNNING: Look("▸", "cyan", "#0969da", RUNNING),
    PENDING: Look("◌", "dim", "#afb8c1", PENDING),
    UPCOMING: Look("◇", "blue", "#7a9cc6", UPCOMING),
    MISSED: Look("○", "magenta", "#8250df", MISSED),
}
# Every state a grid cell can show, in the one order (SLOT_STATES, `unchanged` after `succeeded`).
SLOTS: dict[str, Look] = {s: _SLOT_LOOKS[s] for state in SLOT_STATES
                          for s in ((state, UNCHANGED) if state == SUCCEEDED else (state,))}
NOTHING = Look("·", "dim", "#eef1f4", "nothing scheduled")  # a cell with no slot and no run
# Which state a day's cell shows when it holds several: the one a reader must see first. Not the reverse of
# jobs/slots.FURTHEST_FIRST (which execution speaks for one slot): see there why they are two rules.
WORST_FIRST = (MISSED, FAILED, CANCELLED, RUNNING, PENDING, UPCOMING, SUCCEEDED, UNCHANGED)


def slot_look(state: str | None) -> Look:
    return NOTHING if state is None else SLOTS[state]
