"""The catalog: districts, sports and sports complexes (ФОК)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

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
