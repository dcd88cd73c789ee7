"""The Dockerfile as parsed instructions (dockerfile-parse)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def parse(text: str | None = None) -> DockerfileParser:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "Dockerfile"
        path.write_text(DOCKERFILE.read_text(encoding="utf-8") if text is None else text)
        parser = DockerfileParser(path=str(path), cache_content=True)
        parser.structure  # noqa: B018 (read while the file exists; cached from here on)
        return parser


def runtime_instructions(parser: DockerfileParser) -> list[dict[str, str]]:
    stages: list[list[dict[str, str]]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages[-1]
