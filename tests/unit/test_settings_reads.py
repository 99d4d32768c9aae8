"""How settings are read: by attribute from one typed model, never by a name in a string; each file a run
reads settings from (./.env, jobs/environments.toml) read once; ./.env by python-dotenv's own parser."""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values
from pydantic import SecretStr, create_model
from pydantic_settings import BaseSettings

from housejobs.errors import ConfigError
from housejobs.settings import SETTINGS, read_dotenv
from housejobs.settings_model import Settings, check_against_the_table
from tests.support.process import check_period
from tests.support.sandbox import SandboxHandle
from tests.support.sentinels import ROOT_KEY

SRC = Path(__file__).resolve().parents[2] / "src" / "housejobs"
KEYS = {d.key for d in SETTINGS}
# What a string-keyed read was spelt with: `settings.get("api_url")`, `settings.source("state_dir")`,
# `s.require("project", why)`, `settings.number("deadline")`, `ctx.secret("scheduler_shared_secret")`.
READS = {"get", "source", "source_of", "given", "require", "secret", "number", "whole"}


def string_keyed_reads(source: str) -> list[str]:
    """Each read of a setting by a name in a string: a method of READS (`get` on something called settings)
    given a setting's name; getattr with a setting's name, or with any name on settings; a subscript of
    settings by a setting's name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args:
            first, func = node.args[0], node.func
            literal = isinstance(first, ast.Constant) and first.value in KEYS
            if isinstance(func, ast.Attribute) and func.attr in READS and literal \
                    and (func.attr != "get" or "settings" in ast.unparse(func.value)):
                found.append(ast.unparse(node))
            elif isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) > 1:
                name = node.args[1]
                if (isinstance(name, ast.Constant) and name.value in KEYS) \
                        or (not isinstance(name, ast.Constant) and "settings" in ast.unparse(first)):
                    found.append(ast.unparse(node))
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value in KEYS \
                and "settings" in ast.unparse(node.value):
            found.append(ast.unparse(node))
    return found


def test_no_setting_is_read_by_a_name_in_a_string() -> None:
    # The model reads its own fields by the table's rows (settings_model.Settings.given/require/secret).
    found = {f"{p.relative_to(SRC)}: {read}" for p in SRC.rglob("*.py") if p.name != "settings_model.py"
             for read in string_keyed_reads(p.read_text(encoding="utf-8"))}
    assert found == set(), "read settings by attribute (settings.api_url) or by row (Setting.api_url)"


def test_the_guard_sees_each_way_a_setting_was_read_by_name() -> None:
    old = """
ctx.settings.get("api_url"); settings.source("state_dir"); s.require("project", why)
ctx.settings.number("deadline"); self.settings.whole("max_attempts"); ctx.secret("scheduler_shared_secret")
getattr(settings, "deadline"); getattr(ctx.settings, key); settings.values["notify_url"]
"""
    assert len(string_keyed_reads(old)) == 9
    fine = """
ctx.settings.api_url; settings.given(Setting.state_dir).source; s.require(Setting.project, why)
prod.get("project", ""); raw.get("timeout", "600s"); environ.get("HOUSEJOBS_ENV"); getattr(x, "deadline_s")
"""
    assert string_keyed_reads(fine) == []
    # And the model offers no string-keyed way in (mypy refuses a str where a row is asked for).
    assert not [name for name in ("get", "source", "number", "whole", "values") if hasattr(Settings, name)]


def test_the_model_and_the_table_agree_or_the_import_fails() -> None:
    check_against_the_table(Settings)  # what the import did
    misspelt = create_model("Misspelt", __base__=BaseSettings, **{  # type: ignore[call-overload]
        ("apiurl" if d.key == "api_url" else d.key): (str | None, None) for d in SETTINGS})
    with pytest.raises(ImportError, match=r"Misspelt does not match the table of settings: api_url, apiurl"):
        check_against_the_table(misspelt)
    mistyped = create_model("Mistyped", __base__=BaseSettings, **{  # type: ignore[call-overload]
        d.key: (SecretStr | None if d.secret else str | None, None) for d in SETTINGS})
    with pytest.raises(ImportError, match=r"deadline, .*max_attempts"):
        check_against_the_table(mistyped)


# --- each file once a run ------------------------------------------------------------------------------------
OPENS = """
import io, json, os, sys
opened = []
sys.addaudithook(lambda event, args: opened.append(os.fsdecode(args[0]))
                 if event == "open" and isinstance(args[0], str | bytes | os.PathLike) else None)
from housejobs.cli.main import run_cli
from housejobs.runtime import Runtime
code = run_cli(sys.argv[1:], Runtime(stdout=io.StringIO(), stderr=io.StringIO()))
print(json.dumps({"code": code, "dotenv": sum(os.path.basename(p) == ".env" for p in opened),
                  "environments": sum(os.path.basename(p) == "environments.toml" for p in opened)}))
"""


def opened(*argv: str, cwd: Path) -> dict[str, int]:
    """How many times a run of the CLI opened ./.env and environments.toml (Python's audit events)."""
    check_period(list(argv))
    env = {**os.environ, "CA_ROOT_API_KEY": ROOT_KEY, "HOUSEJOBS_STATE_DIR": str(cwd / "state")}
    done = subprocess.run([sys.executable, "-c", OPENS, *argv], capture_output=True, text=True, check=True, cwd=cwd,
                          env={k: v for k, v in env.items() if k != "HOUSEJOBS_ENV"})
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result.pop("code") == 0, done.stderr
    return result


def test_each_settings_file_is_read_once_a_run(tmp_path: Path, sandbox: SandboxHandle) -> None:
    # ./.env: for the environment (no --env), for whether a URL was given (the Cloud Run rule), and for
    # the settings. environments.toml: for the env's settings and for prod detection (an --api-url that
    # might be prod's).
    (tmp_path / ".env").write_text("HOUSEJOBS_TIMEOUT=7\n")
    assert opened("quota-reset", "--date", "2026-11-24", "--dry-run", cwd=tmp_path) == {"dotenv": 1, "environments": 0}
    assert opened("quota-reset", "--env", "stage", "--api-url", sandbox.url, "--date", "2026-11-24", "--dry-run",
                  cwd=tmp_path) == {"dotenv": 1, "environments": 1}


# --- ./.env by python-dotenv ---------------------------------------------------------------------------------
ACCEPTED = [
    'A="proj-a" # the project\nexport B = \'b\'\n  C=c # c\nD=x#y\n',
    "\ufeffA=bom\n",  # a byte order mark, as Windows editors write one
    'A="two\nlines" # c\nB=\'it\\\'s\'\nC="\\a\\b\\f\\v\\x"\n',  # a quoted value may span lines; escapes
    "'A'=quoted key\n\n\n# comment\n   \nB=\n",
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_dotenv_values_are_python_dotenvs(tmp_path: Path, text: str) -> None:
    (tmp_path / ".env").write_text(text, encoding="utf-8")
    assert read_dotenv(tmp_path / ".env") == dotenv_values(stream=io.StringIO(text), interpolate=False)


@pytest.mark.parametrize(("text", "said"), [
    ('\n\n# c\n\nA="open\n', "line 5 has a quote that is not closed"),
    ('A=1\n\n  B="x" y\n', "line 3 has a quote that is not closed, or text after it"),
    ('A="two\nlines" text\nB=1\n', "line 1 has a quote"),  # where the value starts
    ("A=1\nsentinel-root-key-5f1e0c9a7b\n", "line 2 is not KEY=value"),  # python-dotenv: a key without a value
    ("A=1\n\nexport B\n", "line 3 is not KEY=value"),
    ("CA-ROOT-API-KEY=x\n", "line 1 is not KEY=value"),  # python-dotenv takes any key; no shell would
    ("1A=x\n", "line 1 is not KEY=value"),
])
def test_a_broken_dotenv_line_is_refused_by_number_never_shown(tmp_path: Path, text: str, said: str) -> None:
    (tmp_path / ".env").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=said) as refused:
        read_dotenv(tmp_path / ".env")
    assert "sentinel" not in refused.value.line() and "open" not in refused.value.message
