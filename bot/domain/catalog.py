"""The catalog: districts, sports and sports complexes (ФОК)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.errors import ValidationFailed
from bot.domain.i18n import LocalizedText

DEFAULT_TIMEZONE = "Europe/Moscow"
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0):
            raise ValueError("coordinates out of range")

    def distance_km(self, other: GeoPoint) -> float:
        """Great-circle (haversine) distance."""
        p1, p2 = math.radians(self.lat), math.radians(other.lat)
        dp = p2 - p1
        dl = math.radians(other.lon - self.lon)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class District:
    code: str
    name: LocalizedText
    sort_order: int = 0
    active: bool = True


@dataclass(frozen=True)
class Sport:
    code: str
    name: LocalizedText
    icon: str = ""
    active: bool = True


@dataclass(frozen=True)
class Complex:
    code: str
    name: LocalizedText
    district: str
    address: LocalizedText
    sports: tuple[str, ...]
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    hours: LocalizedText = field(default_factory=LocalizedText)
    description: LocalizedText = field(default_factory=LocalizedText)
    timezone: str = DEFAULT_TIMEZONE
    location: GeoPoint | None = None
    cancellation_window_hours: int = 3
    waitlist_hold_minutes: int = 30
    sort_order: int = 0
    featured: bool = False
    active: bool = True

    def offers(self, sport_code: str) -> bool:
        return sport_code in self.sports


@dataclass(frozen=True)
class NearbyComplex:
    complex: Complex
    distance_km: float


def nearest(complexes: list[Complex], origin: GeoPoint, limit: int) -> list[NearbyComplex]:
    located = [
        NearbyComplex(c, origin.distance_km(c.location))
        for c in complexes
        if c.location is not None
    ]
    located.sort(key=lambda n: (n.distance_km, n.complex.code))
    return located[:limit]


# --- what staff type when they edit the catalog ------------------------------------------------

NAME_MAX = 100
ADDRESS_MAX = 200
HOURS_MAX = 200
DESCRIPTION_MAX = 1000
ICON_MAX = 8
MAX_WINDOW_HOURS = 168
MAX_HOLD_MINUTES = 24 * 60
CLEAR = "-"  # typed for an optional field: remove what is there
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{2,}$")
_WEBSITE = re.compile(r"^https?://[^\s/$.?#][^\s]{1,250}$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[\d\s()\-]{5,24}$")
_LOCATION = re.compile(r"^\s*(-?\d{1,2}(?:[.,]\d+)?)\s*[,; ]\s*(-?\d{1,3}(?:[.,]\d+)?)\s*$")


class ComplexField(StrEnum):
    """The fields of a complex staff edit one at a time (the button carries the value)."""

    NAME = "name"
    DISTRICT = "district"
    ADDRESS = "address"
    PHONE = "phone"
    EMAIL = "email"
    WEBSITE = "website"
    HOURS = "hours"
    DESCRIPTION = "description"
    SPORTS = "sports"
    LOCATION = "location"
    TIMEZONE = "timezone"
    CANCELLATION_WINDOW = "window"
    WAITLIST_HOLD = "hold"


# Fields that are chosen with buttons rather than typed.
CHOSEN_FIELDS = frozenset({ComplexField.DISTRICT, ComplexField.SPORTS})
# Typed fields that may be cleared with «-».
OPTIONAL_FIELDS = frozenset(
    {
        ComplexField.PHONE,
        ComplexField.EMAIL,
        ComplexField.WEBSITE,
        ComplexField.HOURS,
        ComplexField.DESCRIPTION,
        ComplexField.LOCATION,
    }
)


def plain_text(raw: str, field: str, *, low: int, high: int, lines: bool = False) -> str:
    """Typed text for a name, an address...: whitespace collapsed (line breaks kept where
    ``lines``), no control characters, ``low``..``high`` characters."""
    if lines:
        text = "\n".join(" ".join(line.split()) for line in raw.strip().splitlines()).strip()
    else:
        text = " ".join(raw.split())
    if any(unicodedata.category(ch).startswith("C") and ch != "\n" for ch in text):
        raise ValidationFailed(field, "characters")
    if len(text) < low:
        raise ValidationFailed(field, "too_short")
    if len(text) > high:
        raise ValidationFailed(field, "too_long")
    return text


def parse_location(raw: str) -> GeoPoint:
    """«56.2418, 43.8563» (latitude, longitude; a comma or a point as the decimal mark)."""
    found = _LOCATION.match(raw)
    if not found:
        raise ValidationFailed("location", "format")
    try:
        return GeoPoint(float(found[1].replace(",", ".")), float(found[2].replace(",", ".")))
    except ValueError as error:
        raise ValidationFailed("location", "out_of_range") from error


def parse_timezone(raw: str) -> str:
    """An IANA zone such as «Europe/Moscow» or «Asia/Yekaterinburg»."""
    name = raw.strip()
    if "/" not in name or len(name) > 64:
        raise ValidationFailed("timezone", "unknown")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationFailed("timezone", "unknown") from error
    return name


def bounded_number(raw: str, field: str, low: int, high: int) -> int:
    text = raw.strip()
    if not text.isdigit() or len(text) > 5:
        raise ValidationFailed(field, "format")
    value = int(text)
    if not low <= value <= high:
        raise ValidationFailed(field, "out_of_range")
    return value


def edited_complex(complex_: Complex, field: ComplexField, raw: str) -> Complex:
    """The complex with one typed field changed; ValidationFailed (the field's name and why)
    leaves it as it was. Text typed replaces the text in every language."""
    value = raw.strip()
    if field in OPTIONAL_FIELDS and value == CLEAR:
        cleared: dict[ComplexField, dict[str, Any]] = {
            ComplexField.PHONE: {"phone": None},
            ComplexField.EMAIL: {"email": None},
            ComplexField.WEBSITE: {"website": None},
            ComplexField.HOURS: {"hours": LocalizedText()},
            ComplexField.DESCRIPTION: {"description": LocalizedText()},
            ComplexField.LOCATION: {"location": None},
        }
        return replace(complex_, **cleared[field])
    if field is ComplexField.NAME:
        return replace(
            complex_, name=LocalizedText.of(plain_text(raw, "name", low=2, high=NAME_MAX))
        )
    if field is ComplexField.ADDRESS:
        address = plain_text(raw, "address", low=3, high=ADDRESS_MAX)
        return replace(complex_, address=LocalizedText.of(address))
    if field is ComplexField.HOURS:
        hours = plain_text(raw, "hours", low=2, high=HOURS_MAX, lines=True)
        return replace(complex_, hours=LocalizedText.of(hours))
    if field is ComplexField.DESCRIPTION:
        text = plain_text(raw, "description", low=2, high=DESCRIPTION_MAX, lines=True)
        return replace(complex_, description=LocalizedText.of(text))
    if field is ComplexField.PHONE:
        if not _PHONE.match(value) or not 5 <= sum(ch.isdigit() for ch in value) <= 15:
            raise ValidationFailed("phone", "format")
        return replace(complex_, phone=" ".join(value.split()))
    if field is ComplexField.EMAIL:
        if not _EMAIL.match(value):
            raise ValidationFailed("email", "format")
        return replace(complex_, email=value)
    if field is ComplexField.WEBSITE:
        if not _WEBSITE.match(value):
            raise ValidationFailed("website", "format")
        return replace(complex_, website=value)
    if field is ComplexField.LOCATION:
        return replace(complex_, location=parse_location(value))
    if field is ComplexField.TIMEZONE:
        return replace(complex_, timezone=parse_timezone(value))
    if field is ComplexField.CANCELLATION_WINDOW:
        window = bounded_number(value, "window", 0, MAX_WINDOW_HOURS)
        return replace(complex_, cancellation_window_hours=window)
    if field is ComplexField.WAITLIST_HOLD:
        minutes = bounded_number(value, "hold", 1, MAX_HOLD_MINUTES)
        return replace(complex_, waitlist_hold_minutes=minutes)
    raise ValidationFailed(field.value, "chosen_with_buttons")


@dataclass(frozen=True)
class ComplexDraft:
    """A new complex being set up in the staff dialog: name, district, address, sports.

    Kept in the dialog state between updates (``to_data``/``from_data``) so nothing typed is lost
    on a bad input; the other fields are edited on the complex once it exists.
    """

    name: str | None = None
    district: str | None = None
    address: str | None = None
    sports: tuple[str, ...] = ()
    sports_done: bool = False

    def missing(self) -> str | None:
        if self.name is None:
            return "name"
        if self.district is None:
            return "district"
        if self.address is None:
            return "address"
        if not self.sports_done:
            return "sports"
        return None

    def to_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "district": self.district,
            "address": self.address,
            "sports": list(self.sports),
            "sports_done": self.sports_done,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ComplexDraft:
        sports = data.get("sports") or []
        if not isinstance(sports, list):
            raise ValueError("not a complex draft")
        return cls(
            name=data.get("name"),
            district=data.get("district"),
            address=data.get("address"),
            sports=tuple(str(s) for s in sports),
            sports_done=bool(data.get("sports_done", False)),
        )
