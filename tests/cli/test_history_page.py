"""`housejobs history --html`: the self-contained page, as headless Chromium draws it (tests/support/browser.py
drives it over the DevTools protocol). The history is the month of tests/support/history_world.py, read by the
real google-cloud-run and -scheduler clients from the fakes; the clock is the suite's FakeClock.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Any

from tests.support import png
from tests.support.browser import NO_FONTS, Browser, chromium
from tests.support.cli import Cli
from tests.support.deploy_env import GcpEnv
from tests.support.history_world import deployed_month

# What a reader of the page is told, from the legend: a colour and a glyph per state (a success the job said
# changed nothing is `unchanged`), and the legend's words where they are not the state's name.
STATE_RGB = {"succeeded": (0x2E, 0x9E, 0x44), "unchanged": (0x8C, 0xC7, 0x9A), "failed": (0xD1, 0x24, 0x2F),
             "cancelled": (0xBF, 0x87, 0x00), "missed": (0x82, 0x50, 0xDF), "running": (0x09, 0x69, 0xDA),
             "pending": (0xAF, 0xB8, 0xC1), "upcoming": (0x7A, 0x9C, 0xC6), "none": (0xEE, 0xF1, 0xF4)}
STATE_GLYPH = {"succeeded": "✓", "unchanged": "=", "failed": "✗", "cancelled": "⊘", "missed": "○", "running": "▸",
               "pending": "◌", "upcoming": "◇"}
LEGEND_WORDS = {"succeeded": "succeeded (applied)", "unchanged": "succeeded, changed nothing (duplicate, skipped)"}
WHITE = (0xFF, 0xFF, 0xFF)

# Runs in the page once it has loaded: what the browser laid out and computed for every cell (its box, its
# fill, its glyph, its tooltip, its link, and whether the cell is what a pointer at its centre meets), the
# two tables, the legend and the row notes. Read back as JSON; the page itself carries no script.
READ_PAGE = """(() => {
  const css = (el, prop) => getComputedStyle(el)[prop];
  const cells = [...document.querySelectorAll('svg.heatmap g.cell')].map(g => {
    const rect = g.querySelector('rect'), box = rect.getBoundingClientRect(), glyph = g.querySelector('text.glyph');
    const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
    const link = g.closest('a'), tip = g.querySelector(':scope > title');
    return {row: g.dataset.row, day: g.dataset.day, state: g.dataset.state, fill: css(rect, 'fill'),
            box: [box.x, box.y, box.width, box.height], glyph: glyph && glyph.textContent,
            glyphFill: glyph && css(glyph, 'fill'), tip: tip && tip.textContent,
            hit: Boolean(hit && hit.closest('g.cell') === g), link: link && link.getAttribute('href')};
  });
  const table = name => [...document.querySelectorAll(`table.${name} tbody tr`)].map(tr => ({
    state: tr.dataset.state, cells: [...tr.cells].map(td => td.textContent),
    colour: css(tr.querySelector('td.state'), 'color'), links: [...tr.querySelectorAll('a')].map(a => a.href)}));
  const heatmaps = document.querySelectorAll('svg.heatmap'), heatmap = heatmaps[0].getBoundingClientRect();
  return {cells, problems: table('problems'), runs: table('runs'),
          legend: [...document.querySelectorAll('.legend span')].map(
            s => [s.lastChild.textContent, css(s.querySelector('i'), 'backgroundColor')]),
          notes: [...document.querySelectorAll('svg.heatmap tspan.note')].map(
            t => [t.parentNode.firstChild.textContent.trim(), t.textContent, css(t, 'fill')]),
          headings: [...document.querySelectorAll('h2')].map(h => h.textContent),
          heatmap: [heatmap.x, heatmap.y, heatmap.width, heatmap.height], heatmaps: heatmaps.length};
})()"""
# Hides the page's SVG text (glyphs, labels, day numbers) before the screenshot whose pixels are read: what
# is left are the cells' fills, which no font changes.
HIDE_SVG_TEXT = "document.head.insertAdjacentHTML('beforeend', '<style>svg text { visibility: hidden }</style>')"


def rgb(colour: tuple[int, int, int]) -> str:
    return "rgb({}, {}, {})".format(*colour)


def test_the_html_page_renders_in_chromium(cli: Cli, gcp: GcpEnv, tmp_path: Path) -> None:
    """The page as Chromium draws it: every cell's state, colour, glyph, tooltip and link, the problems table
    and the legend, read from the browser's own layout and computed styles, and each cell's colour read from
    the screenshot's pixels where the browser put the cell. No text is measured or counted in pixels, so the
    fonts installed cannot change the result: the same checks pass with the machine's fonts and with none."""
    chromium()  # skipped without chromium, failed without it when HOUSEJOBS_REQUIRE_BROWSER is set
    month = deployed_month(cli, gcp)
    page = tmp_path / "history.html"
    # The file name is relative to the run's directory.
    result = cli("history", "--env", "stage", "--html", "history.html", "--json", env=month.env)
    assert result.code == 0, result.stdout
    assert result.json()["details"]["html"] == str(page)
    source = page.read_text()
    # Self-contained: nothing to fetch, nothing to run.
    for banned in ("<script", "<link", "@import", "url(", " src=", "@font-face"):
        assert banned not in source.lower(), banned
    no_fonts = tmp_path / "no-fonts.conf"
    no_fonts.write_text(NO_FONTS.format(cache=tmp_path / "font-cache"))
    for name, fonts in (("installed fonts", {}), ("no fonts", {"FONTCONFIG_FILE": str(no_fonts)})):
        with Browser(tmp_path / f"chromium-{len(fonts)}", env=fonts) as browser:
            browser.open(page.as_uri())
            drawn = browser.evaluate(READ_PAGE)
            browser.evaluate(HIDE_SVG_TEXT)
            shot = png.decode(browser.screenshot(drawn["heatmap"]))
        assert browser.requests == [page.as_uri()], name  # the page asked for nothing else
        check_page(drawn, shot)


def check_page(drawn: dict[str, Any], shot: png.Image) -> None:
    # The legend tells the reader which colour is which state; every cell keeps to it.
    legend = dict(drawn["legend"])
    assert legend == {**{LEGEND_WORDS.get(state, state): rgb(STATE_RGB[state]) for state in STATE_GLYPH},
                      "nothing scheduled": rgb(STATE_RGB["none"])}
    cells = drawn["cells"]
    assert drawn["heatmaps"] == 1  # 30 days fit one block (a longer window wraps)
    assert len(cells) == 11 * 30  # 8 trigger rows and 3 manual jobs, 30 days
    rows = list(dict.fromkeys(c["row"] for c in cells))
    days = list(dict.fromkeys(c["day"] for c in cells))
    assert len(rows) == 11 and days[0] == "2026-10-26" and days[-1] == "2026-11-24" and len(days) == 30
    for c in cells:
        assert c["fill"] == rgb(STATE_RGB[c["state"]]), c
        assert c["glyph"] == STATE_GLYPH.get(c["state"]), c
        assert c["glyphFill"] == (rgb(WHITE) if c["glyph"] else None), c
        assert c["hit"], c  # nothing covers the cell: a pointer at its centre finds it (and its tooltip)
        assert c["tip"] and c["tip"].startswith(f"{c['row']} · "), c
        if c["state"] == "none":
            assert c["tip"] == f"{c['row']} · {c['day']} · nothing scheduled" and c["link"] is None, c
    # A grid: 22 px cells, one column per day and one line per row, 26 px apart.
    xs = {c["day"]: {c2["box"][0] for c2 in cells if c2["day"] == c["day"]} for c in cells}
    ys = {c["row"]: {c2["box"][1] for c2 in cells if c2["row"] == c["row"]} for c in cells}
    assert all(len(v) == 1 for v in (*xs.values(), *ys.values()))
    column = [xs[d].pop() for d in days]
    line = [ys[r].pop() for r in rows]
    assert {b - a for a, b in itertools.pairwise(column)} == {26} == {b - a for a, b in itertools.pairwise(line)}
    assert {tuple(c["box"][2:]) for c in cells} == {(22, 22)}

    cell = {(c["row"], c["day"]): c for c in cells}
    expected = {("quota-reset", "2026-11-03"): "missed", ("quota-reset", "2026-11-05"): "succeeded",
                ("alerts", "2026-11-18"): "failed", ("stale-cleanup", "2026-11-08"): "cancelled",
                ("stale-cleanup", "2026-11-24"): "missed", ("quota-cleanup", "2026-11-24"): "running",
                ("reminder rent-due", "2026-10-31"): "succeeded", ("bootstrap", "2026-11-15"): "succeeded",
                ("quota-monthly", "2026-11-02"): "none"}
    assert {key: cell[key]["state"] for key in expected} == expected
    assert sum(c["state"] == "missed" for c in cells) == 9
    failed = cell[("alerts", "2026-11-18")]
    assert re.fullmatch(r"alerts · scheduled 2026-11-18 08:00 UTC · period 2026-11-18 · failed\n"
                        r"housejobs-alerts-stage-\w+ failed · 0/1 tasks · created 2026-11-18 08:00:04 UTC · "
                        r"ran 30\.0 s · .*logs: https://console\.cloud\.google\.com/\S+", failed["tip"]), failed["tip"]
    assert failed["link"].startswith("https://console.cloud.google.com/logs/viewer?project=cloudact-testing-1")
    assert cell[("stale-cleanup", "2026-11-24")]["tip"] == (
        "stale-cleanup · scheduled 2026-11-24 02:00 UTC · period 2026-11-24 · missed (trigger paused)")
    assert drawn["notes"] == [["stale-cleanup", "(trigger paused)", rgb(STATE_RGB["missed"])]]

    # The problems table: one line per missed, failed or cancelled slot, its state in the state's colour.
    assert drawn["headings"][0] == "Missed, failed and cancelled slots (11)"
    problems = drawn["problems"]
    assert sorted(p["state"] for p in problems) == ["cancelled", "failed"] + ["missed"] * 9
    for p in problems:
        assert p["colour"] == rgb(STATE_RGB[p["state"]]) and p["cells"][3].startswith(STATE_GLYPH[p["state"]]), p
    by_slot = {(p["cells"][0], p["cells"][1]): p for p in problems}
    alerts = by_slot[("2026-11-18 08:00 UTC", "alerts")]
    assert alerts["cells"][2:4] == ["2026-11-18", "✗ failed"]
    assert re.fullmatch(r"housejobs-alerts-stage-\w+ · 0/1 tasks · 30\.0 s · logs", alerts["cells"][4])
    assert alerts["links"] == [failed["link"]]
    paused = [p for p in problems if p["cells"][1] == "stale-cleanup" and p["state"] == "missed"]
    assert [p["cells"][0][:10] for p in paused] == [f"2026-11-{d}" for d in range(18, 25)]
    assert {p["cells"][3] for p in paused} == {"○ missed (trigger paused)"}
    assert drawn["headings"][1] == "Manual runs (4)" and len(drawn["runs"]) == 4

    # The pixels where the browser drew each cell (the screenshot is of the heatmap, its text hidden): the
    # cell's colour at its centre and 3 px inside each corner, and the page's white in the gaps between cells.
    x0, y0, width, height = drawn["heatmap"]
    assert (shot.width, shot.height) == (round(width), round(height))
    for c in cells:
        left, top = math.ceil(c["box"][0] - x0), math.ceil(c["box"][1] - y0)
        points = [(left + 11, top + 11), (left + 3, top + 3), (left + 18, top + 3), (left + 3, top + 18),
                  (left + 18, top + 18)]
        assert {shot.pixel(x, y) for x, y in points} == {STATE_RGB[c["state"]]}, c
        assert shot.pixel(left + 24, top + 11) == WHITE, c
