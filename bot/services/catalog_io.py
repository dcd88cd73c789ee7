"""Import and export of the catalog file (format ``fok-catalog/1``, see data/catalog/README.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any

from bot.domain.catalog import Complex, District, GeoPoint, Sport
from bot.domain.errors import ValidationFailed
from bot.domain.i18n import LocalizedText
from bot.domain.sessions import WeeklyTemplate
from bot.services.ports.repositories import CatalogRepository, SessionRepository

FORMAT = "fok-catalog/1"


@dataclass(frozen=True)
class CatalogFile:
    districts: list[District]
    sports: list[Sport]
    complexes: list[Complex]
    templates: list[WeeklyTemplate]


@dataclass(frozen=True)
class ImportReport:
    districts: int
    sports: int
    complexes: int
    templates: int


def template_id(complex_code: str, sport_code: str, weekday: int, start: time) -> str:
    """Stable across imports, so re-importing the file updates templates instead of adding."""
    key = f"{complex_code}|{sport_code}|{weekday}|{start.isoformat('minutes')}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def parse_catalog(document: Mapping[str, Any]) -> CatalogFile:
    """Validate the whole file before anything is written: a bad file changes nothing."""
    if document.get("format") != FORMAT:
        raise ValidationFailed("format", f"expected {FORMAT}")
    default_tz = str(document.get("timezone") or "Europe/Moscow")
    districts = [
        District(
            code=_code(d, "district"),
            name=_text(d, "name", required=True),
            sort_order=int(d.get("sort_order", 0)),
            active=bool(d.get("active", True)),
        )
        for d in _list(document, "districts")
    ]
    sports = [
        Sport(
            code=_code(s, "sport"),
            name=_text(s, "name", required=True),
            icon=str(s.get("icon", "")),
            active=bool(s.get("active", True)),
        )
        for s in _list(document, "sports")
    ]
    district_codes = _unique([d.code for d in districts], "districts")
    sport_codes = _unique([s.code for s in sports], "sports")
    complexes = [
        _complex(c, default_tz, district_codes, sport_codes) for c in _list(document, "complexes")
    ]
    complex_by_code = {c.code: c for c in complexes}
    _unique([c.code for c in complexes], "complexes")
    templates = [_template(t, complex_by_code) for t in _list(document, "session_templates")]
    _unique([t.id for t in templates], "session_templates")
    return CatalogFile(districts, sports, complexes, templates)


async def import_catalog(
    document: Mapping[str, Any], catalog: CatalogRepository, sessions: SessionRepository
) -> ImportReport:
    parsed = parse_catalog(document)
    for district in parsed.districts:
        await catalog.upsert_district(district)
    for sport in parsed.sports:
        await catalog.upsert_sport(sport)
    for complex_ in parsed.complexes:
        await catalog.upsert_complex(complex_)
    for template in parsed.templates:
        await sessions.upsert_template(template)
    return ImportReport(
        len(parsed.districts), len(parsed.sports), len(parsed.complexes), len(parsed.templates)
    )


async def export_catalog(
    catalog: CatalogRepository, sessions: SessionRepository, timezone: str = "Europe/Moscow"
) -> dict[str, Any]:
    districts = await catalog.list_districts(include_inactive=True)
    sports = await catalog.list_sports(include_inactive=True)
    complexes = await catalog.list_complexes(include_inactive=True)
    templates = await sessions.list_templates()
    return {
        "format": FORMAT,
        "timezone": timezone,
        "districts": [
            {
                "code": d.code,
                "name": d.name.to_dict(),
                "sort_order": d.sort_order,
                "active": d.active,
            }
            for d in districts
        ],
        "sports": [
            {"code": s.code, "name": s.name.to_dict(), "icon": s.icon, "active": s.active}
            for s in sports
        ],
        "complexes": [_complex_dict(c) for c in complexes],
        "session_templates": [
            {
                "complex": t.complex_code,
                "sport": t.sport_code,
                "weekday": t.weekday,
                "start": t.start.isoformat("minutes"),
                "duration_minutes": t.duration_minutes,
                "capacity": t.capacity,
                "title": t.title.to_dict(),
                "active": t.active,
            }
            for t in templates
        ],
    }


def _complex_dict(c: Complex) -> dict[str, Any]:
    return {
        "code": c.code,
        "name": c.name.to_dict(),
        "district": c.district,
        "address": c.address.to_dict(),
        "phone": c.phone,
        "email": c.email,
        "website": c.website,
        "hours": c.hours.to_dict(),
        "description": c.description.to_dict(),
        "sports": list(c.sports),
        "timezone": c.timezone,
        "location": {"lat": c.location.lat, "lon": c.location.lon} if c.location else None,
        "cancellation_window_hours": c.cancellation_window_hours,
        "waitlist_hold_minutes": c.waitlist_hold_minutes,
        "sort_order": c.sort_order,
        "featured": c.featured,
        "active": c.active,
    }


def _complex(
    raw: Mapping[str, Any], default_tz: str, districts: set[str], sports: set[str]
) -> Complex:
    code = _code(raw, "complex")
    district = str(raw.get("district", ""))
    if district not in districts:
        raise ValidationFailed("district", f"{code}: unknown district {district!r}")
    offered = tuple(str(s) for s in raw.get("sports", []))
    unknown = [s for s in offered if s not in sports]
    if unknown or not offered:
        raise ValidationFailed("sports", f"{code}: unknown or empty sports {unknown}")
    location = raw.get("location")
    try:
        point = GeoPoint(float(location["lat"]), float(location["lon"])) if location else None
    except (KeyError, TypeError, ValueError) as error:
        raise ValidationFailed("location", f"{code}: {error}") from error
    return Complex(
        code=code,
        name=_text(raw, "name", required=True),
        district=district,
        address=_text(raw, "address", required=True),
        sports=offered,
        phone=_optional_str(raw, "phone"),
        email=_optional_str(raw, "email"),
        website=_optional_str(raw, "website"),
        hours=_text(raw, "hours"),
        description=_text(raw, "description"),
        timezone=str(raw.get("timezone") or default_tz),
        location=point,
        cancellation_window_hours=_bounded_int(raw, "cancellation_window_hours", 3, 0, 168),
        waitlist_hold_minutes=_bounded_int(raw, "waitlist_hold_minutes", 30, 1, 24 * 60),
        sort_order=int(raw.get("sort_order", 0)),
        featured=bool(raw.get("featured", False)),
        active=bool(raw.get("active", True)),
    )


def _template(raw: Mapping[str, Any], complexes: Mapping[str, Complex]) -> WeeklyTemplate:
    complex_code = str(raw.get("complex", ""))
    sport = str(raw.get("sport", ""))
    owner = complexes.get(complex_code)
    if owner is None:
        raise ValidationFailed("complex", f"template: unknown complex {complex_code!r}")
    if not owner.offers(sport):
        raise ValidationFailed("sport", f"template: {complex_code} does not offer {sport!r}")
    try:
        start = time.fromisoformat(str(raw["start"]))
        weekday = int(raw["weekday"])
    except (KeyError, ValueError) as error:
        raise ValidationFailed("start", f"template of {complex_code}: {error}") from error
    return WeeklyTemplate(
        id=template_id(complex_code, sport, weekday, start),
        complex_code=complex_code,
        sport_code=sport,
        weekday=weekday,
        start=start,
        duration_minutes=int(raw.get("duration_minutes", 60)),
        capacity=int(raw.get("capacity", 10)),
        title=_text(raw, "title"),
        active=bool(raw.get("active", True)),
    )


def _list(document: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = document.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ValidationFailed(key, "must be a list of objects")
    return value


def _code(raw: Mapping[str, Any], what: str) -> str:
    code = raw.get("code")
    if (
        not isinstance(code, str)
        or not code
        or len(code) > 40
        or not code.replace("-", "").replace("_", "").isalnum()
    ):
        raise ValidationFailed("code", f"bad {what} code {code!r}")
    return code


def _text(raw: Mapping[str, Any], key: str, *, required: bool = False) -> LocalizedText:
    value = raw.get(key)
    if value is None and not required:
        return LocalizedText()
    if isinstance(value, str):
        value = {"ru": value}
    if (
        not isinstance(value, Mapping)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value.values())
    ):
        raise ValidationFailed(key, f"{raw.get('code', '?')}: needs text")
    return LocalizedText({str(k): str(v) for k, v in value.items()})


def _optional_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return str(value) if value else None


def _bounded_int(raw: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = int(raw.get(key, default))
    if not low <= value <= high:
        raise ValidationFailed(key, f"{raw.get('code', '?')}: out of range")
    return value


def _unique(codes: list[str], what: str) -> set[str]:
    if len(set(codes)) != len(codes):
        raise ValidationFailed(what, "duplicate codes")
    return set(codes)
