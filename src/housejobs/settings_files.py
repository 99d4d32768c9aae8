"""The files and folders settings are read from: ./.env (as python-dotenv and docker compose read it),
jobs/environments.toml, the jobs folder itself, and the state folder's default. No pydantic here: the
standalone sandbox and --help import this module.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from housejobs.errors import ConfigError, UsageError, choices_hint
from housejobs.settings_table import ENV_NAMES, KNOWN_ENV_KEYS

PACKAGE_DIR = Path(__file__).resolve().parent


def default_state_dir(environ: Mapping[str, str]) -> str:
    """Where local state lives when HOUSEJOBS_STATE_DIR is not set: the XDG state directory."""
    base = environ.get("XDG_STATE_HOME") or os.path.join(environ.get("HOME") or os.path.expanduser("~"),
                                                         ".local", "state")
    return os.path.join(base, "housejobs")


def state_dir(environ: Mapping[str, str], cwd: Path) -> Path:
    """HOUSEJOBS_STATE_DIR from the environment or ./.env, else the default: without resolving every setting
    (the standalone sandbox needs only this one)."""
    value = environ.get("HOUSEJOBS_STATE_DIR") or parse_dotenv(cwd / ".env").get("HOUSEJOBS_STATE_DIR")
    return Path(value or default_state_dir(environ))


def find_jobs_dir(environ: Mapping[str, str]) -> tuple[Path, str]:
    """HOUSEJOBS_JOBS_DIR, then the checkout this package runs from, then the copy inside the wheel."""
    explicit = environ.get("HOUSEJOBS_JOBS_DIR")
    if explicit:
        path = Path(expand_home(explicit, environ))
        if not (path / "catalog.toml").is_file():
            raise ConfigError(f"HOUSEJOBS_JOBS_DIR={explicit} has no catalog.toml")
        return path, "HOUSEJOBS_JOBS_DIR"
    checkout = PACKAGE_DIR.parent.parent / "jobs"
    if (checkout / "catalog.toml").is_file() and (PACKAGE_DIR.parent.parent / "pyproject.toml").is_file():
        return checkout, "checkout"
    packaged = PACKAGE_DIR / "_jobs"
    if (packaged / "catalog.toml").is_file():
        return packaged, "package"
    raise ConfigError("no jobs/ directory found", hint="set HOUSEJOBS_JOBS_DIR to a folder with catalog.toml")


def expand_home(path: str, environ: Mapping[str, str]) -> str:
    """`~` and `~/x` as a shell expands them, from this run's HOME; `~user/x` from the password database."""
    if path == "~" or path.startswith("~/"):
        return (environ.get("HOME") or os.path.expanduser("~")) + path[1:]
    return os.path.expanduser(path) if path.startswith("~") else path


def read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # here: --help and the sandbox never read TOML

    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path.name} not found in {path.parent}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid TOML: {exc}") from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively: a file nested thousands deep
        # is a broken file, not a bug here.
        raise ConfigError(f"{path} nests arrays or tables too deeply to read",
                          hint=f"fix {path.name}: its tables go a few levels deep") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path.name}: {exc.__class__.__name__}") from None


def load_environments(jobs_dir: Path) -> dict[str, dict[str, str]]:
    data = read_toml(jobs_dir / "environments.toml")
    unknown_envs = sorted(set(data) - set(ENV_NAMES))
    if unknown_envs:
        raise ConfigError(f"environments.toml defines unknown environment {unknown_envs[0]!r}",
                          hint="allowed: " + ", ".join(ENV_NAMES))
    envs: dict[str, dict[str, str]] = {}
    for name in ENV_NAMES:
        table = data.get(name)
        if not isinstance(table, dict):
            raise ConfigError(f"environments.toml has no [{name}] table")
        for key, value in table.items():
            if key not in KNOWN_ENV_KEYS:
                raise ConfigError(f"environments.toml [{name}] has unknown key {key!r}")
            if not isinstance(value, str):
                raise ConfigError(f"environments.toml [{name}].{key} must be a string")
        envs[name] = dict(table)
    return envs


_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
# Escapes inside quotes (python-dotenv's and docker compose's): double quotes take the common shell ones,
# single quotes only their own quote and the backslash. Any other backslash stays as written.
_ESCAPES = {'"': {"n": "\n", "r": "\r", "t": "\t", '"': '"', "'": "'", "\\": "\\"}, "'": {"'": "'", "\\": "\\"}}


def parse_dotenv(path: Path) -> dict[str, str]:
    r""".env as python-dotenv and docker compose read it, one value a line, no ${VAR} interpolation:

        KEY=value                 unquoted: surrounding space dropped; a # after a space starts a comment
        export KEY=value          the `export` prefix is allowed
        KEY="a # b\n"             double quotes: # is kept; \n \r \t \" \' \\ are escapes
        KEY='a # b'  # comment    single quotes: literal but for \' and \\; a comment may follow
        # comment                 a line whose first non-space character is # (and blank lines)

    A quote left open, or text after the closing quote other than a comment, is refused by line number.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc.__class__.__name__}") from None
    out: dict[str, str] = {}
    # Lines end at \n, \r\n or \r only, as in every other .env reader: splitlines() would also split at
    # U+2028, U+0085 or \x1c inside a value, and the rest of that value would become a line of its own.
    for number, line in enumerate(re.split(r"\r\n|\n|\r", text), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _DOTENV_LINE.match(line)
        # The line may hold a secret: errors name the line, never show it.
        if not m:
            raise ConfigError(f"{path.name} line {number} is not KEY=value")
        value = _dotenv_value(m.group(2))
        if value is None:
            raise ConfigError(f"{path.name} line {number} has a quote that is not closed, or text after it",
                              hint='quote the whole value, e.g. KEY="a # b"; a comment may follow the quote')
        out[m.group(1)] = value
    return out


def _dotenv_value(raw: str) -> str | None:
    """The value after `KEY=`, or None when its quoting is broken."""
    body = raw.lstrip()
    if body[:1] in ("'", '"'):
        quote, escapes = body[0], _ESCAPES[body[0]]
        chars: list[str] = []
        i = 1
        while i < len(body):
            c = body[i]
            if c == "\\" and i + 1 < len(body) and body[i + 1] in escapes:
                chars.append(escapes[body[i + 1]])
                i += 2
                continue
            if c == quote:
                rest = body[i + 1:].lstrip()
                return "".join(chars) if not rest or rest.startswith("#") else None
            chars.append(c)
            i += 1
        return None
    # Unquoted: a # starts a comment only after whitespace (which may be the space after `=`), so
    # `KEY=a#b` keeps its #.
    for i, c in enumerate(raw):
        if c == "#" and i > 0 and raw[i - 1].isspace():
            raw = raw[:i]
            break
    return raw.strip()


def check_env_name(name: str, source: str) -> str:
    if name not in ENV_NAMES:
        raise UsageError(f"unknown environment {name!r} from {source}", hint=choices_hint(name, ENV_NAMES))
    return name


def select_env(option: str | None, environ: Mapping[str, str], cwd: Path) -> tuple[str | None, str]:
    """The environment a command runs in, and where that came from: --env, $HOUSEJOBS_ENV, ./.env."""
    if option is not None:
        return check_env_name(option, "--env"), "--env"
    if "HOUSEJOBS_ENV" in environ:
        return check_env_name(environ["HOUSEJOBS_ENV"], "$HOUSEJOBS_ENV"), "$HOUSEJOBS_ENV"
    dotenv = parse_dotenv(cwd / ".env")
    if "HOUSEJOBS_ENV" in dotenv:
        return check_env_name(dotenv["HOUSEJOBS_ENV"], ".env HOUSEJOBS_ENV"), ".env"
    return None, "unset"
