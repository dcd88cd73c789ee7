"""The catalog file is validated as a whole: any bad entry stops the import before it writes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bot.domain.errors import ValidationFailed
from bot.services.catalog_io import parse_catalog, template_id

SEED = Path(__file__).resolve().parents[3] / "data" / "catalog" / "nizhny-novgorod.json"


@pytest.fixture(scope="module")
def seed() -> dict[str, Any]:
    return json.loads(SEED.read_text(encoding="utf-8"))


def test_seed_parses_with_required_size(seed: dict[str, Any]) -> None:
    parsed = parse_catalog(seed)
    assert len(parsed.districts) >= 8
    assert len(parsed.complexes) >= 25
    assert len(parsed.sports) >= 12
    assert {c.district for c in parsed.complexes} == {d.code for d in parsed.districts}
    assert all(c.location is not None for c in parsed.complexes)
    assert len(parsed.templates) >= len(parsed.complexes)


def _broken(seed: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(seed)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["format"], "fok-catalog/9", "format"),
        (["complexes", 0, "district"], "atlantis", "district"),
        (["complexes", 0, "sports"], ["curling-on-mars"], "sports"),
        (["complexes", 0, "location"], {"lat": 200, "lon": 0}, "location"),
        (["complexes", 0, "name"], {"ru": "  "}, "name"),
        (["complexes", 0, "code"], "bad code!", "code"),
        (["session_templates", 0, "complex"], "nowhere", "complex"),
        (["session_templates", 0, "start"], "25:99", "start"),
        (["session_templates", 0, "capacity"], 0, "capacity"),
        (["districts"], "not a list", "districts"),
    ],
)
def test_broken_files_are_refused(
    seed: dict[str, Any], path: list[Any], value: Any, field: str
) -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_catalog(_broken(seed, path, value))
    assert error.value.field == field


def test_duplicate_codes_refused(seed: dict[str, Any]) -> None:
    doc = copy.deepcopy(seed)
    doc["complexes"].append(copy.deepcopy(doc["complexes"][0]))
    with pytest.raises(ValidationFailed):
        parse_catalog(doc)


def test_template_ids_are_stable() -> None:
    from datetime import time

    assert template_id("c", "s", 0, time(18)) == template_id("c", "s", 0, time(18, 0))
    assert template_id("c", "s", 0, time(18)) != template_id("c", "s", 1, time(18))
