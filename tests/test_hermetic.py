"""The harness is hermetic: every test starts from the known environment of tests/support/hermetic.py, the
list it controls covers every variable housejobs and the libraries that draw its output read, and a
representative part of the suite gives the same result under the most hostile environment we can think of.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import rich
import typer

from tests.support.hermetic import KEPT, SET, controlled, removals
from tests.support.sentinels import SENTINELS

ROOT = Path(__file__).resolve().parents[1]
# A variable named in a read of the environment: environ.get("X"), environ["X"], getenv("X"), a helper given
# the environment and a name (`_whole(environ, "X")`), or `env.get("X")` where env is the run's environment
# (in capitals: an `env` that is a JSON object has keys of another kind).
READ = re.compile(r'(?:environ\.get\(|getenv\(|environ\[|environ, )\s*"([A-Za-z_][A-Za-z0-9_]*)"'
                  r'|\benv\.get\(\s*"([A-Z][A-Z0-9_]*)"')
SETTING = re.compile(r'SettingDef\("([A-Z][A-Z0-9_]*)"')


def names_read(files: list[Path]) -> set[str]:
    names: set[str] = set()
    for path in files:
        text = path.read_text()
        names |= {name for pair in READ.findall(text) for name in pair if name} | set(SETTING.findall(text))
    return names


def test_every_variable_housejobs_reads_is_controlled() -> None:
    read = names_read(sorted((ROOT / "src" / "housejobs").rglob("*.py")))
    # The scan finds what it should: the colour switches, the Cloud Run task, the settings and the secrets.
    assert {"NO_COLOR", "FORCE_COLOR", "TERM", "CLOUD_RUN_TASK_INDEX", "HOUSEJOBS_ENV", "HOUSEJOBS_DEADLINE",
            "XDG_STATE_HOME", "HOME", "SSL_CERT_FILE", "all_proxy", "CA_ROOT_API_KEY"} <= read
    # Secrets are not removed but set to sentinels for every test (tests/support/sentinels.py).
    assert sorted(name for name in read if not controlled(name) and name not in SENTINELS) == []


def test_every_variable_the_terminal_libraries_read_is_controlled() -> None:
    # rich draws tables and colours, Typer and click parse, print help and page; what they read from
    # os.environ in an in-process run is the test's os.environ, and a spawned CLI's is its copy.
    site = Path(rich.__file__).parent.parent
    files = [Path(rich.__file__).parent / "console.py", Path(typer.__file__).parent / "rich_utils.py",
             Path(typer.__file__).parent / "core.py", site / "click" / "_termui_impl.py", site / "click" / "utils.py",
             site / "httpx" / "_config.py"]
    read = names_read(files)
    assert {"COLUMNS", "LINES", "TTY_COMPATIBLE", "TERMINAL_WIDTH", "PAGER"} <= read
    assert sorted(name for name in read if not controlled(name)) == []


def test_a_test_starts_from_the_known_environment(tmp_path: Path) -> None:
    assert removals(os.environ) == ["HOUSEJOBS_STATE_DIR"]  # the test's own, under tmp_path
    assert {name: os.environ.get(name) for name in SET} == SET
    assert os.environ["HOME"] == str(tmp_path / "home") and (tmp_path / "home").is_dir()
    assert os.environ["HOUSEJOBS_STATE_DIR"] == str(tmp_path / "state")
    assert all(os.environ.get(name) == value for name, value in SENTINELS.items())
    assert not any(controlled(name) for name in KEPT)  # CI's switches stay


# Everything a user's shell, an editor's terminal or a CI runner might hold that changes what housejobs does
# or prints, each set to what would break a test that read it.
HOSTILE = {
    "TERM": "dumb", "NO_COLOR": "1", "FORCE_COLOR": "1", "COLORTERM": "truecolor", "CLICOLOR_FORCE": "1",
    "COLUMNS": "80", "LINES": "24", "TERMINAL_WIDTH": "60", "TTY_COMPATIBLE": "0",
    "LANG": "C", "LC_ALL": "C", "LC_CTYPE": "C", "LANGUAGE": "de", "TZ": "Pacific/Chatham",
    "HOUSEJOBS_ENV": "stage", "HOUSEJOBS_API_URL": "http://127.0.0.1:9", "HOUSEJOBS_DEADLINE": "5",
    "HOUSEJOBS_MAX_ATTEMPTS": "1", "HOUSEJOBS_PROJECT": "someone-elses-project", "HOUSEJOBS_JOBS_DIR": "/nonexistent",
    "HOUSEJOBS_NOTIFY_URL": "http://127.0.0.1:9/hook", "HOUSEJOBS_SANDBOX_FAULTS": "503",
    "XDG_STATE_HOME": "/nonexistent",
    "GOOGLE_CLOUD_PROJECT": "someone-elses-project", "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/key.json",
    "CLOUDSDK_CORE_PROJECT": "someone-elses-project", "CLOUD_RUN_JOB": "housejobs-quota-reset-prod",
    "CLOUD_RUN_EXECUTION": "housejobs-quota-reset-prod-x1", "CLOUD_RUN_TASK_INDEX": "oops",
    "https_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9",
    "SSL_CERT_FILE": "/nonexistent.pem", "REQUESTS_CA_BUNDLE": "/nonexistent.pem",
}
# Tests that read the terminal, the colour switches, the settings and the environment, in process and spawned.
SENSITIVE = [
    "tests/cli/test_terminal.py",
    "tests/cli/test_jobs.py::test_terminal_output_is_readable",
    "tests/cli/test_jobs.py::test_config_show_masks_secrets_and_names_sources",
    "tests/cli/test_history.py::test_terminal_grid_has_a_glyph_and_a_colour_per_state",
    "tests/cli/test_first_run.py::test_config_show_names_the_environment_in_effect_and_the_default_state_dir",
    "tests/cli/test_first_run.py::test_the_standalone_sandbox_shares_the_embedded_sandboxs_state",
    "tests/unit/test_settings.py::test_each_source_in_its_place_and_named",
]


@pytest.mark.slow
def test_tests_give_the_same_result_in_a_hostile_environment() -> None:
    """Before the harness controlled the environment, TERM=dumb failed 4 tests, NO_COLOR=1 five and
    HOUSEJOBS_ENV=stage dozens."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *SENSITIVE], cwd=ROOT, env={**os.environ, **HOSTILE}, capture_output=True, text=True,
                          encoding="utf-8", timeout=600, check=False)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:]
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.fullmatch(r"\d+ passed in .*", summary), summary  # nothing failed, nothing skipped
