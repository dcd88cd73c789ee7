from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.envfile import ROOT, complete_values, write_env_file
from tests.deploy.image import parse, runtime_instructions

UV = shutil.which("uv") or str(ROOT / "var" / "bootstrap" / "bin" / "uv")


@pytest.fixture
def complete_env_file(tmp_path: Path) -> Path:
    """.env.prod.example with throwaway secrets: what a filled-in .env.prod looks like."""
    return write_env_file(tmp_path / "complete.env", complete_values())


@pytest.fixture(scope="module")
def staged_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/opt/venv and /app of the runtime stage: the build stage's `uv sync --frozen` (offline,
    from the uv cache `make install` filled) and the runtime stage's COPY instructions."""
    image = tmp_path_factory.mktemp("image")
    build = image / "src"
    build.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy2(ROOT / name, build / name)
    sync = [
        i["value"]
        for i in parse().structure
        if i["instruction"] == "RUN" and "uv sync" in i["value"]
    ]
    assert len(sync) == 1
    arguments = sync[0].split()
    arguments[arguments.index("--python") + 1] = sys._base_executable  # type: ignore[attr-defined]
    result = subprocess.run(
        [UV, *arguments[1:], "--offline"],
        cwd=build,
        env={
            **os.environ,
            "UV_PROJECT_ENVIRONMENT": str(image / "venv"),
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_LINK_MODE": "copy",
        },
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    app = image / "app"
    for instruction in runtime_instructions(parse()):
        if instruction["instruction"] != "COPY" or "--from=" in instruction["value"]:
            continue
        source, destination = instruction["value"].split()
        target = (
            app / Path(destination).relative_to("/app")
            if destination.startswith("/app")
            else image / "bin" / Path(destination).name
        )
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / source, target)
    return image
