"""The seed catalog matches data/catalog/schema.json and its cross-references resolve.

jsonschema is not a dependency, so the schema is applied by a small validator covering exactly
the keywords schema.json uses; a keyword it does not know makes the test fail rather than pass
silently.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

CATALOG_DIR = Path(__file__).resolve().parents[2] / "data" / "catalog"
SEED_PATH = CATALOG_DIR / "nizhny-novgorod.json"
SCHEMA_PATH = CATALOG_DIR / "schema.json"

# Rough boxes around each district of Nizhny Novgorod: enough to catch a complex placed on the
# wrong bank of the Oka, not a survey. Boxes of neighbouring districts overlap.
DISTRICT_BOXES: dict[str, tuple[float, float, float, float]] = {
    # code: (lat_min, lat_max, lon_min, lon_max)
    "avtozavodsky": (56.20, 56.27, 43.78, 43.92),
    "kanavinsky": (56.29, 56.34, 43.89, 43.98),
    "leninsky": (56.26, 56.30, 43.88, 43.95),
    "moskovsky": (56.32, 56.35, 43.84, 43.90),
    "nizhegorodsky": (56.30, 56.34, 43.98, 44.10),
    "prioksky": (56.22, 56.28, 43.94, 44.06),
    "sovetsky": (56.28, 56.31, 43.98, 44.10),
    "sormovsky": (56.34, 56.40, 43.78, 43.90),
}

_KNOWN_KEYWORDS = {
    "$schema",
    "$id",
    "$defs",
    "$ref",
    "title",
    "description",
    "type",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "minItems",
    "uniqueItems",
    "const",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
}
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _schema_errors(
    instance: Any, schema: dict[str, Any], root: dict[str, Any], where: str
) -> list[str]:
    unknown = set(schema) - _KNOWN_KEYWORDS
    if unknown:
        return [f"{where}: validator does not implement {sorted(unknown)}"]
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return _schema_errors(instance, root["$defs"][name], root, where)
    errors: list[str] = []
    expected = schema.get("type")
    if expected is not None:
        is_bool = isinstance(instance, bool)
        if not isinstance(instance, _TYPES[expected]) or (is_bool and expected != "boolean"):
            return [f"{where}: expected {expected}, got {type(instance).__name__}"]
    if "const" in schema and instance != schema["const"]:
        errors.append(f"{where}: must equal {schema['const']!r}")
    if isinstance(instance, str):
        if len(instance) < schema.get("minLength", 0):
            errors.append(f"{where}: shorter than {schema['minLength']}")
        if len(instance) > schema.get("maxLength", len(instance)):
            errors.append(f"{where}: longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], instance):
            errors.append(f"{where}: {instance!r} does not match {schema['pattern']}")
    if isinstance(instance, (int, float)) and not isinstance(instance, bool):
        if "minimum" in schema and instance < schema["minimum"]:
            errors.append(f"{where}: below {schema['minimum']}")
        if "maximum" in schema and instance > schema["maximum"]:
            errors.append(f"{where}: above {schema['maximum']}")
    if isinstance(instance, list):
        if len(instance) < schema.get("minItems", 0):
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        if schema.get("uniqueItems") and len({json.dumps(i) for i in instance}) != len(instance):
            errors.append(f"{where}: items are not unique")
        if "items" in schema:
            for index, item in enumerate(instance):
                errors += _schema_errors(item, schema["items"], root, f"{where}[{index}]")
    if isinstance(instance, dict):
        for key in schema.get("required", []):
            if key not in instance:
                errors.append(f"{where}: missing {key!r}")
        properties = schema.get("properties", {})
        for key, value in instance.items():
            if key in properties:
                errors += _schema_errors(value, properties[key], root, f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: unexpected {key!r}")
    return errors


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def catalog_errors(catalog: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Every reason the catalog is unfit to import; empty when it is fine."""
    errors = _schema_errors(catalog, schema, schema, "$")
    if errors:
        return errors

    for section in ("districts", "sports", "complexes"):
        duplicated = [c for c, n in Counter(i["code"] for i in catalog[section]).items() if n > 1]
        if duplicated:
            errors.append(f"{section}: duplicate codes {duplicated}")
    district_codes = {d["code"] for d in catalog["districts"]}
    sport_codes = {s["code"] for s in catalog["sports"]}
    complexes = {c["code"]: c for c in catalog["complexes"]}

    if len(district_codes) < 8:
        errors.append(f"only {len(district_codes)} districts, need at least 8")
    if len(complexes) < 25:
        errors.append(f"only {len(complexes)} complexes, need at least 25")
    if len(sport_codes) < 12:
        errors.append(f"only {len(sport_codes)} sports, need at least 12")

    for code, fok in complexes.items():
        if fok["district"] not in district_codes:
            errors.append(f"{code}: unknown district {fok['district']!r}")
        unknown_sports = set(fok["sports"]) - sport_codes
        if unknown_sports:
            errors.append(f"{code}: unknown sports {sorted(unknown_sports)}")
        lat, lon = fok["location"]["lat"], fok["location"]["lon"]
        if not (56.2 <= lat <= 56.4 and 43.8 <= lon <= 44.1):
            errors.append(f"{code}: location {lat},{lon} is outside Nizhny Novgorod")
        box = DISTRICT_BOXES.get(fok["district"])
        if box and not (box[0] <= lat <= box[1] and box[2] <= lon <= box[3]):
            errors.append(f"{code}: location {lat},{lon} is outside district {fok['district']}")
        if not fok["phone"].startswith("+7831"):
            errors.append(f"{code}: phone {fok['phone']} is not a Nizhny Novgorod (+7 831) number")
        for field in ("email", "website"):
            if field in fok and "example.org" not in fok[field]:
                errors.append(f"{code}: {field} must use example.org")

    sessions_per_complex: Counter[str] = Counter()
    for index, template in enumerate(catalog["session_templates"]):
        where = f"session_templates[{index}]"
        fok = complexes.get(template["complex"])
        if fok is None:
            errors.append(f"{where}: unknown complex {template['complex']!r}")
            continue
        if template["sport"] not in fok["sports"]:
            errors.append(f"{where}: {template['sport']!r} is not a sport of {fok['code']}")
        start = _minutes(template["start"])
        end = start + template["duration_minutes"]
        if start < _minutes("07:00") or end > _minutes("22:00"):
            errors.append(
                f"{where}: {template['start']}+{template['duration_minutes']}m "
                "is outside 07:00–22:00"
            )
        if not 8 <= template["capacity"] <= 30:
            errors.append(f"{where}: capacity {template['capacity']} outside 8–30")
        sessions_per_complex[fok["code"]] += 1
    for code in complexes:
        if sessions_per_complex[code] < 3:
            errors.append(f"{code}: only {sessions_per_complex[code]} weekly sessions")
    return errors


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def seed() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SEED_PATH.read_text(encoding="utf-8"))
    return loaded


def test_seed_catalog_is_valid(seed: dict[str, Any], schema: dict[str, Any]) -> None:
    assert catalog_errors(seed, schema) == []


def test_seed_covers_every_real_district(seed: dict[str, Any]) -> None:
    names = {d["name"]["ru"] for d in seed["districts"]}
    assert names == {
        "Автозаводский",
        "Канавинский",
        "Ленинский",
        "Московский",
        "Нижегородский",
        "Приокский",
        "Советский",
        "Сормовский",
    }
    used = {c["district"] for c in seed["complexes"]}
    assert used == {d["code"] for d in seed["districts"]}, "every district has complexes"


def test_every_complex_sport_has_a_session(seed: dict[str, Any]) -> None:
    scheduled = {(t["complex"], t["sport"]) for t in seed["session_templates"]}
    offered = {(c["code"], s) for c in seed["complexes"] for s in c["sports"]}
    assert offered <= scheduled


def test_same_sport_sessions_of_a_complex_do_not_overlap(seed: dict[str, Any]) -> None:
    by_slot: dict[tuple[str, str, int], list[tuple[int, int]]] = {}
    for t in seed["session_templates"]:
        start = _minutes(t["start"])
        key = (t["complex"], t["sport"], t["weekday"])
        by_slot.setdefault(key, []).append((start, start + t["duration_minutes"]))
    for key, spans in by_slot.items():
        spans.sort()
        for (_, end), (next_start, _) in itertools.pairwise(spans):
            assert end <= next_start, f"overlapping sessions at {key}"


_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def opening_hours(hours_en: str) -> dict[int, tuple[int, int]]:
    """Parse the English hours text ("Mon–Fri 07:00–22:00, Sun closed", "Daily 08:00–22:00")
    into {weekday: (open minute, close minute)}; raises ValueError on anything else."""
    opening: dict[int, tuple[int, int]] = {}
    for part in hours_en.split(", "):
        days_text, _, times_text = part.partition(" ")
        if days_text == "Daily":
            days = list(range(7))
        elif "–" in days_text:
            first, last = days_text.split("–")
            days = list(range(_WEEKDAYS.index(first), _WEEKDAYS.index(last) + 1))
        else:
            days = [_WEEKDAYS.index(days_text)]
        if times_text == "closed":
            continue
        match = re.fullmatch(r"(\d\d:\d\d)–(\d\d:\d\d)", times_text)
        if match is None:
            raise ValueError(f"unreadable hours {part!r}")
        for day in days:
            opening[day] = (_minutes(match.group(1)), _minutes(match.group(2)))
    return opening


def test_sessions_lie_within_the_complex_opening_hours(seed: dict[str, Any]) -> None:
    hours = {c["code"]: opening_hours(c["hours"]["en"]) for c in seed["complexes"]}
    outside = []
    for t in seed["session_templates"]:
        window = hours[t["complex"]].get(t["weekday"])
        start = _minutes(t["start"])
        if window is None or not (
            window[0] <= start and start + t["duration_minutes"] <= window[1]
        ):
            outside.append((t["complex"], t["weekday"], t["start"], t["duration_minutes"]))
    assert outside == []


def test_opening_hours_parser_reads_every_form_used() -> None:
    assert opening_hours("Daily 08:00–22:00") == dict.fromkeys(range(7), (480, 1320))
    assert opening_hours("Mon–Fri 07:30–21:30, Sat 09:00–19:00, Sun closed") == {
        **dict.fromkeys(range(5), (450, 1290)),
        5: (540, 1140),
    }
    with pytest.raises(ValueError, match="unreadable"):
        opening_hours("Mon–Fri around nine")


def _break_unknown_district(c: dict[str, Any]) -> None:
    c["complexes"][0]["district"] = "atlantis"


def _break_sport_not_offered(c: dict[str, Any]) -> None:
    fok = c["complexes"][0]
    missing = next(s["code"] for s in c["sports"] if s["code"] not in fok["sports"])
    template = next(t for t in c["session_templates"] if t["complex"] == fok["code"])
    template["sport"] = missing


def _break_duplicate_code(c: dict[str, Any]) -> None:
    c["complexes"][1]["code"] = c["complexes"][0]["code"]


def _break_phone(c: dict[str, Any]) -> None:
    c["complexes"][0]["phone"] = "+7831212345"


def _break_long_description(c: dict[str, Any]) -> None:
    c["complexes"][0]["description"]["ru"] = "а" * 1001


def _break_long_name(c: dict[str, Any]) -> None:
    c["sports"][0]["name"]["en"] = "x" * 101


def _break_location(c: dict[str, Any]) -> None:
    c["complexes"][0]["location"] = {"lat": 55.7558, "lon": 37.6173}


def _break_wrong_district_location(c: dict[str, Any]) -> None:
    sormovo = next(x for x in c["complexes"] if x["district"] == "sormovsky")
    sormovo["district"] = "prioksky"


def _break_too_few_complexes(c: dict[str, Any]) -> None:
    kept = c["complexes"][:24]
    c["complexes"] = kept
    codes = {x["code"] for x in kept}
    c["session_templates"] = [t for t in c["session_templates"] if t["complex"] in codes]


def _break_weekday(c: dict[str, Any]) -> None:
    c["session_templates"][0]["weekday"] = 7


def _break_start(c: dict[str, Any]) -> None:
    c["session_templates"][0]["start"] = "6:30"


def _break_missing_field(c: dict[str, Any]) -> None:
    del c["complexes"][0]["hours"]


def _break_extra_field(c: dict[str, Any]) -> None:
    c["complexes"][0]["rating"] = 5


def _break_format(c: dict[str, Any]) -> None:
    c["format"] = "fok-catalog/2"


@pytest.mark.parametrize(
    "breaker",
    [
        _break_unknown_district,
        _break_sport_not_offered,
        _break_duplicate_code,
        _break_phone,
        _break_long_description,
        _break_long_name,
        _break_location,
        _break_wrong_district_location,
        _break_too_few_complexes,
        _break_weekday,
        _break_start,
        _break_missing_field,
        _break_extra_field,
        _break_format,
    ],
)
def test_broken_copies_are_rejected(
    seed: dict[str, Any], schema: dict[str, Any], breaker: Any
) -> None:
    broken = copy.deepcopy(seed)
    breaker(broken)
    assert catalog_errors(broken, schema) != []
