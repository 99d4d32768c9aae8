"""The shape of the code, enforced: the import rule of DESIGN.md's Layout, read from the source's own imports.

    cli → runner → jobs → {provision, migrations, notify} → context → {api, gcp} → {settings, catalog,
    periods} → base (errors, results, logs, redact, clock)

A module may import modules of its own part, and of parts below it; never above. One module has a place
of its own: `jobs/spec.py`, the job declarations (standard library only), sits beside the catalog, so
that everything from provisioning up reads specs. Nothing imports `cli`
(it is the top, run by the console script), only `gcp/` imports `google.*`, and there are no cycles, lazy
imports inside functions and TYPE_CHECKING imports included: an import is a dependency wherever it sits.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import tomllib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "housejobs"

# Each part's rank: a module may import its own part and any part of a lower rank.
RANKS: dict[str, int] = {
    # base: imports nothing of housejobs above it
    "errors": 0, "results": 0, "logs": 0, "redact": 0, "clock": 0, "threads": 0, "cron": 0, "stopping": 0,
    "shards": 0, "orgs": 0,
    "__init__": 0,
    # what the run stands on: settings and what is read from them
    "settings": 1, "settings_model": 1, "periods": 1, "target": 1,
    "catalog": 2, "runtime": 2, "jobs.spec": 2,
    # adapters: HTTP clients, Google, the local contract server
    "sandbox": 3, "api": 3,
    "gcp": 4,
    "context": 5,
    "provision": 6, "migrations": 6, "notify": 6,
    "jobs": 7,
    "runner": 8,
    "cli": 9, "__main__": 9,
}


# Modules placed apart from their package's part.
OWN_PLACE = {"housejobs.jobs.spec": "jobs.spec"}


def part(module: str) -> str:
    """`housejobs.api.client` → `api`; `housejobs` → `__init__`; `housejobs.jobs.spec` → `jobs.spec`."""
    if module in OWN_PLACE:
        return OWN_PLACE[module]
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    names = list(rel.parts)
    if names[-1] == "__init__":
        names = names[:-1]
    return ".".join(names)


def imports(path: Path) -> set[str]:
    """Every module this file imports, at any depth of the file (functions and TYPE_CHECKING included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            # `from housejobs.cli import job_commands` imports the module housejobs.cli.job_commands.
            found.update(f"{base}.{alias.name}" for alias in node.names
                         if (SRC.parent / f"{base}.{alias.name}".replace(".", "/")).with_suffix(".py").exists())
    return found


def graph() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        name = module_name(path)
        out[name] = {m for m in imports(path) if m == "housejobs" or m.startswith("housejobs.")}
        out[name].discard(name)
    return out


def violations(edges: dict[str, set[str]]) -> list[str]:
    problems: list[str] = []
    for module, targets in sorted(edges.items()):
        mine = part(module)
        if mine not in RANKS:
            problems.append(f"{module}: its part {mine!r} has no place in the layout (RANKS)")
            continue
        for target in sorted(targets):
            theirs = part(target)
            if theirs == "cli" and mine not in ("cli", "__main__"):
                problems.append(f"{module} imports {target}: nothing imports cli")
            elif theirs not in RANKS:
                problems.append(f"{module} imports {target}: {theirs!r} has no place in the layout")
            elif theirs != mine and RANKS[theirs] > RANKS[mine]:
                problems.append(f"{module} imports {target}: an upward import ({mine} {RANKS[mine]} → "
                                f"{theirs} {RANKS[theirs]})")
    return problems


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in edges:
                continue
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def google_importers() -> list[str]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        if part(module_name(path)) == "gcp":
            continue
        if any(m == "google" or m.startswith(("google.", "googleapiclient")) for m in imports(path)):
            out.append(module_name(path))
    return out


def test_the_import_rule_holds() -> None:
    assert violations(graph()) == []


def test_there_are_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_only_gcp_imports_google() -> None:
    assert google_importers() == []


def test_no_source_file_is_over_400_lines() -> None:
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}


def test_exit_codes_are_decided_in_cli_main_only() -> None:
    """sys.exit, typer.Exit and SystemExit belong to the one error boundary (and the console script's
    first lines, which end a run stopped before the boundary existed)."""
    allowed = {"cli/main.py", "cli/entry.py"}
    found = []
    for path in SRC.rglob("*.py"):
        rel = str(path.relative_to(SRC))
        text = path.read_text(encoding="utf-8")
        if rel not in allowed and any(w in text for w in ("sys.exit", "typer.Exit", "raise SystemExit")):
            found.append(rel)
    assert found == []


# --- the guard guards: each kind of violation planted in a copy of the graph is caught -------------------------
@pytest.mark.parametrize(("module", "target", "expected"), [
    ("housejobs.jobs.admin", "housejobs.cli.render", "nothing imports cli"),
    ("housejobs.catalog", "housejobs.jobs.periods", "an upward import"),
    ("housejobs.context", "housejobs.runner", "an upward import"),
    ("housejobs.api.client", "housejobs.context", "an upward import"),
    ("housejobs.errors", "housejobs.settings", "an upward import"),
    ("housejobs.newpart", "housejobs.errors", "no place in the layout"),
    ("housejobs.jobs.spec", "housejobs.context", "an upward import"),
])
def test_a_planted_violation_is_caught(module: str, target: str, expected: str) -> None:
    edges = graph()
    edges.setdefault(module, set()).add(target)
    assert any(expected in v and v.startswith(module) for v in violations(edges))


def test_a_planted_cycle_is_caught() -> None:
    edges = graph()
    edges["housejobs.sandbox.app"].add("housejobs.sandbox.bot")
    edges["housejobs.sandbox.bot"].add("housejobs.sandbox.app")
    assert any("housejobs.sandbox.bot" in c and "housejobs.sandbox.app" in c for c in cycles(edges))


# --- a job's knowledge lives in its module: code naming a job elsewhere is counted ----------------------------
# Other words code uses for a job than its name: its identifiers and its route's (the first of a job's
# words is its name; the underscore form of every catalog name is added below).
ALIASES = {"org-sync-all": ["org-sync"], "quota-reset": ["reset-daily"]}
# Beyond the module the catalog names: what else is the job's own (migrate's SQL machinery).
ALSO_OWN = {"migrate": ["migrations/"]}
# Where a job may be named: its own module, the registry, the sandbox (the contract's server) and the catalog.
EXEMPT = ["jobs/registry.py", "sandbox/", "catalog.py"]
MAX_PAIRS = 6


def code_words(source: str) -> list[tuple[int, str]]:
    """(line, text) of each name and string in the code: comments and docstrings left out."""
    words, previous = [], None
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            continue
        if token.type == tokenize.STRING and previous in (None, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                                                           tokenize.NL):
            previous = token.type  # a string standing as a statement: a docstring
            continue
        if token.type in (tokenize.NAME, tokenize.STRING) or token.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            words.append((token.start[0], token.string))
        previous = token.type if token.type not in (tokenize.NL, tokenize.COMMENT) else previous
    return words


def job_pairs() -> dict[tuple[str, str], list[int]]:
    """(file, job) → the lines of code in that file that name the job, outside the places it belongs."""
    jobs = tomllib.loads((SRC.parent.parent / "jobs" / "catalog.toml").read_text())["jobs"]
    words = {name: [name, name.replace("-", "_"), *ALIASES.get(name, [])] for name in jobs}
    module = {name: raw.get("module", "housejobs.jobs." + name.replace("-", "_")) for name, raw in jobs.items()}
    own = {name: [str(Path(*module[name].split(".")[1:])) + ".py", *ALSO_OWN.get(name, [])] for name in jobs}
    pairs: dict[tuple[str, str], list[int]] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = str(path.relative_to(SRC))
        if any(rel.startswith(e) for e in EXEMPT):
            continue
        code = code_words(path.read_text(encoding="utf-8"))
        for job, names in words.items():
            if any(rel.startswith(o) for o in own[job]):
                continue
            lines = sorted({line for line, text in code for w in names
                            if re.search(r"(?<![a-z_-])" + re.escape(w) + r"(?![a-z_])", text)})
            if lines:
                pairs[(rel, job)] = lines
    return pairs


def test_code_naming_a_job_lives_with_the_job() -> None:
    """Adding a job is its module and its catalog entry: at most a handful of other files name one."""
    pairs = job_pairs()
    assert len(pairs) <= MAX_PAIRS, "\n".join(f"{rel} names {job} (lines {lines})"
                                             for (rel, job), lines in pairs.items())


def test_the_job_count_sees_a_job_named_in_code_and_not_in_a_comment() -> None:
    words = [text for _, text in code_words('"""quota-reset in a docstring"""\n# quota-reset\nx = "quota-reset"\n')]
    assert words == ["x", '"quota-reset"']
