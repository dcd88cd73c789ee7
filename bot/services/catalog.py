"""Browsing the catalog: districts, complexes, sports, nearest complexes."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.domain.audit import AuditEntry
from bot.domain.catalog import (
    ADDRESS_MAX,
    ICON_MAX,
    NAME_MAX,
    Complex,
    ComplexDraft,
    ComplexField,
    District,
    GeoPoint,
    NearbyComplex,
    Sport,
    edited_complex,
    nearest,
    plain_text,
)
from bot.domain.errors import CatalogEntryInUse, NotFound, PermissionDenied, ValidationFailed
from bot.domain.i18n import LocalizedText
from bot.domain.ids import new_id
from bot.domain.paging import Page, PageRequest, clamp_page
from bot.domain.sessions import validate_reason
from bot.services.catalog_io import FORMAT, ImportReport, export_catalog, import_catalog
from bot.services.ports.repositories import (
    AuditRepository,
    CatalogRepository,
    SessionRepository,
    UserRepository,
)
from bot.services.ports.system import Clock
from bot.services.staff_guard import StaffAudit, catalog_admin, staff_for_complex, staff_member

if TYPE_CHECKING:
    from bot.services.bookings import BookingService

MAX_SEARCH_SPORTS = 12
CODE_ATTEMPTS = 8


def complex_snapshot(c: Complex) -> dict[str, object]:
    """A complex as the audit log keeps it (before → after)."""
    return {
        "name": c.name.to_dict(),
        "district": c.district,
        "address": c.address.to_dict(),
        "sports": list(c.sports),
        "phone": c.phone,
        "email": c.email,
        "website": c.website,
        "hours": c.hours.to_dict(),
        "description": c.description.to_dict(),
        "timezone": c.timezone,
        "location": [c.location.lat, c.location.lon] if c.location else None,
        "cancellation_window_hours": c.cancellation_window_hours,
        "waitlist_hold_minutes": c.waitlist_hold_minutes,
        "active": c.active,
    }


def _district_snapshot(d: District) -> dict[str, object]:
    return {"name": d.name.to_dict(), "sort_order": d.sort_order, "active": d.active}


def _sport_snapshot(s: Sport) -> dict[str, object]:
    return {"name": s.name.to_dict(), "icon": s.icon, "active": s.active}


@dataclass(frozen=True)
class StaffComplex:
    """A complex as staff manage it: hidden ones too, with what hiding it would close."""

    complex_: Complex
    district: District | None
    sports: list[Sport]  # the complex's sports that exist, in its order
    coming_sessions: int  # sessions still to come and not cancelled
    can_hide: bool  # the staff member may hide or show it (admins)


@dataclass(frozen=True)
class Usage:
    """A district or sport and how many visible complexes use it."""

    entry: District | Sport
    complexes: int


@dataclass(frozen=True)
class HidePreview:
    complex_: Complex
    reason: str
    coming_sessions: int  # to be cancelled, with notice to everyone booked


@dataclass(frozen=True)
class ComplexHidden:
    complex_: Complex
    closed_sessions: int


class CatalogService:
    def __init__(
        self,
        catalog: CatalogRepository,
        sessions: SessionRepository,
        users: UserRepository,
        audit: AuditRepository,
        clock: Clock,
        *,
        bookings: BookingService | None = None,
    ) -> None:
        self._catalog = catalog
        self._sessions = sessions
        self._users = users
        self._audit = audit
        self._staff_audit = StaffAudit(audit, clock)
        self._clock = clock
        self._bookings = bookings

    async def districts(self, page: PageRequest) -> Page[District]:
        districts = await self._catalog.list_districts()
        request = clamp_page(page, len(districts))
        items = districts[request.offset : request.offset + request.size]
        return Page(items, request.page, request.size, len(districts))

    async def district(self, code: str) -> District:
        district = await self._catalog.get_district(code)
        if district is None or not district.active:
            raise NotFound(f"district {code}")
        return district

    async def complexes_in_district(self, code: str, page: PageRequest) -> Page[Complex]:
        await self.district(code)
        first = await self._catalog.complexes_in_district(code, page)
        if first.items or first.total == 0:
            return first
        return await self._catalog.complexes_in_district(code, clamp_page(page, first.total))

    async def complex(self, code: str) -> Complex:
        found = await self._catalog.get_complex(code)
        if found is None or not found.active:
            raise NotFound(f"complex {code}")
        return found

    async def sports(self) -> list[Sport]:
        return await self._catalog.list_sports()

    async def sport(self, code: str) -> Sport:
        sport = await self._catalog.get_sport(code)
        if sport is None or not sport.active:
            raise NotFound(f"sport {code}")
        return sport

    async def search_by_sports(self, codes: Sequence[str], page: PageRequest) -> Page[Complex]:
        """Complexes offering any of the chosen sports."""
        chosen = sorted(set(codes))
        if not chosen:
            raise ValidationFailed("sports", "empty")
        if len(chosen) > MAX_SEARCH_SPORTS:
            raise ValidationFailed("sports", "too_many")
        first = await self._catalog.complexes_with_sports(chosen, page)
        if first.items or first.total == 0:
            return first
        return await self._catalog.complexes_with_sports(chosen, clamp_page(page, first.total))

    async def nearest(self, origin: GeoPoint, limit: int = 5) -> list[NearbyComplex]:
        return nearest(await self._catalog.list_complexes(), origin, limit)

    async def count_complexes(self) -> int:
        """Complexes residents can see (active ones)."""
        return len(await self._catalog.list_complexes())

    # --- the catalog file (operators, staff for all complexes) ----------------------------

    async def import_file(self, actor_id: int | None, document: Mapping[str, Any]) -> ImportReport:
        """Write a ``fok-catalog/1`` file (validated whole before anything is written).

        Admins and super admins may; ``actor_id=None`` is the operator CLI (trusted shell).
        """
        if actor_id is not None:
            actor = await self._users.get(actor_id)
            if actor is None or actor.blocked or not actor.manages_all_complexes:
                raise PermissionDenied("the catalog file is for staff of all complexes")
        report = await import_catalog(document, self._catalog, self._sessions)
        await self._audit.record(
            AuditEntry(
                new_id(),
                actor_id or 0,
                "catalog.import",
                "catalog",
                FORMAT,
                self._clock.now(),
                {
                    "districts": report.districts,
                    "sports": report.sports,
                    "complexes": report.complexes,
                    "templates": report.templates,
                },
            )
        )
        return report

    async def export_file(self) -> dict[str, Any]:
        """The whole catalog, inactive entries included, as a ``fok-catalog/1`` document."""
        return await export_catalog(self._catalog, self._sessions)

    # --- staff: complexes ---------------------------------------------------------------------

    async def staff_complexes(self, actor_id: int, page: PageRequest) -> Page[Complex]:
        """Every complex the staff member manages, hidden ones included."""
        actor = await staff_member(self._users, actor_id)
        complexes = [
            c
            for c in await self._catalog.list_complexes(include_inactive=True)
            if actor.can_manage_complex(c.code)
        ]
        request = clamp_page(page, len(complexes))
        items = complexes[request.offset : request.offset + request.size]
        return Page(items, request.page, request.size, len(complexes))

    async def staff_complex(self, actor_id: int, code: str) -> StaffComplex:
        actor = await staff_for_complex(self._users, actor_id, code)
        complex_ = await self._require_complex(code)
        sports = [s for s in [await self._catalog.get_sport(c) for c in complex_.sports] if s]
        now = self._clock.now()
        coming = await self._sessions.list_for_complex(code, now, now + _FAR)
        return StaffComplex(
            complex_,
            await self._catalog.get_district(complex_.district),
            sports,
            sum(1 for s in coming if not s.cancelled),
            can_hide=actor.manages_all_complexes,
        )

    async def edit_complex(
        self, actor_id: int, code: str, field: ComplexField, raw: str
    ) -> Complex:
        """Change one field (managers: of their own complexes). District and sports come from
        buttons: ``raw`` is the district's code, or the sport's code to add or remove."""
        await staff_for_complex(self._users, actor_id, code)
        before = await self._require_complex(code)
        if field is ComplexField.DISTRICT:
            await self._open_district(raw)
            after = replace(before, district=raw)
        elif field is ComplexField.SPORTS:
            after = replace(before, sports=await self._toggled(before.sports, raw))
        else:
            after = edited_complex(before, field, raw)
        if after == before:
            return before
        await self._catalog.upsert_complex(after)
        await self._record_complex(actor_id, "complex.update", before, after, field=field.value)
        return after

    async def start_complex_draft(self, actor_id: int) -> ComplexDraft:
        """A new complex begins (admins)."""
        await catalog_admin(self._users, actor_id)
        return ComplexDraft()

    async def fill_complex_draft(
        self, actor_id: int, draft: ComplexDraft, field: str, raw: str
    ) -> ComplexDraft:
        """The next field of a new complex (admins); a bad value leaves the draft as it was.
        ``sports`` toggles the sport ``raw``; ``sports_done`` ends the choice (one at least)."""
        await catalog_admin(self._users, actor_id)
        if field == "sports_done":
            if draft.missing() != "sports":
                raise ValidationFailed("draft", "out_of_order")
            if not draft.sports:
                raise ValidationFailed("sports", "empty")
            return replace(draft, sports_done=True)
        if field != draft.missing():
            raise ValidationFailed("draft", "out_of_order")
        if field == "name":
            return replace(draft, name=plain_text(raw, "name", low=2, high=NAME_MAX))
        if field == "district":
            await self._open_district(raw)
            return replace(draft, district=raw)
        if field == "address":
            return replace(draft, address=plain_text(raw, "address", low=3, high=ADDRESS_MAX))
        if field == "sports":
            return replace(draft, sports=await self._toggled(draft.sports, raw, allow_empty=True))
        raise ValidationFailed("draft", "out_of_order")

    async def create_complex(self, actor_id: int, draft: ComplexDraft) -> Complex:
        """A new visible complex from a complete draft, with the default time zone, cancellation
        window and waitlist hold (edited on the complex afterwards)."""
        await catalog_admin(self._users, actor_id)
        if draft.missing() is not None or not (draft.name and draft.district and draft.address):
            raise ValidationFailed("draft", "incomplete")
        await self._open_district(draft.district)
        for sport in draft.sports:
            await self._open_sport(sport)
        code = await self._free_code("fok", self._catalog.get_complex)
        created = Complex(
            code=code,
            name=LocalizedText.of(draft.name),
            district=draft.district,
            address=LocalizedText.of(draft.address),
            sports=draft.sports,
        )
        await self._catalog.upsert_complex(created)
        await self._record_complex(actor_id, "complex.create", None, created)
        return created

    async def preview_hide(self, actor_id: int, code: str, raw_reason: str) -> HidePreview:
        """Before hiding: the reason checked, and how many coming sessions it would cancel."""
        await catalog_admin(self._users, actor_id)
        reason = validate_reason(raw_reason)
        found = await self.staff_complex(actor_id, code)
        return HidePreview(found.complex_, reason, found.coming_sessions)

    async def hide_complex(self, actor_id: int, code: str, raw_reason: str) -> ComplexHidden:
        """Hide a complex from residents (admins). Its history stays; every session still to
        come is cancelled with ``raw_reason``, and everyone booked or waiting is told."""
        await catalog_admin(self._users, actor_id)
        reason = validate_reason(raw_reason)
        before = await self._require_complex(code)
        if not before.active:
            return ComplexHidden(before, 0)
        after = replace(before, active=False)
        await self._catalog.upsert_complex(after)
        await self._record_complex(actor_id, "complex.hide", before, after, reason=reason)
        closed = 0
        if self._bookings is not None:
            closed = await self._bookings.close_future_sessions(actor_id, code, reason)
        return ComplexHidden(after, closed)

    async def show_complex(self, actor_id: int, code: str) -> Complex:
        """Make a hidden complex visible again (its cancelled sessions stay cancelled)."""
        await catalog_admin(self._users, actor_id)
        before = await self._require_complex(code)
        if before.active:
            return before
        await self._open_district(before.district)
        after = replace(before, active=True)
        await self._catalog.upsert_complex(after)
        await self._record_complex(actor_id, "complex.show", before, after)
        return after

    # --- staff: districts and sports (admins) -----------------------------------------------

    async def staff_districts(self, actor_id: int) -> list[Usage]:
        await catalog_admin(self._users, actor_id)
        complexes = await self._catalog.list_complexes()
        return [
            Usage(d, sum(1 for c in complexes if c.district == d.code))
            for d in await self._catalog.list_districts(include_inactive=True)
        ]

    async def staff_district(self, actor_id: int, code: str) -> Usage:
        await catalog_admin(self._users, actor_id)
        district = await self._catalog.get_district(code)
        if district is None:
            raise NotFound(f"district {code}")
        complexes = await self._catalog.list_complexes()
        return Usage(district, sum(1 for c in complexes if c.district == code))

    async def create_district(self, actor_id: int, raw_name: str) -> District:
        await catalog_admin(self._users, actor_id)
        name = plain_text(raw_name, "name", low=2, high=NAME_MAX)
        existing = await self._catalog.list_districts(include_inactive=True)
        code = await self._free_code("district", self._catalog.get_district)
        district = District(
            code, LocalizedText.of(name), max((d.sort_order for d in existing), default=0) + 1
        )
        await self._catalog.upsert_district(district)
        await self._staff_audit.record(
            actor_id,
            "district.create",
            "district",
            code,
            before=None,
            after=_district_snapshot(district),
        )
        return district

    async def rename_district(self, actor_id: int, code: str, raw_name: str) -> District:
        before = (await self.staff_district(actor_id, code)).entry
        assert isinstance(before, District)
        after = replace(
            before, name=LocalizedText.of(plain_text(raw_name, "name", low=2, high=NAME_MAX))
        )
        return await self._save_district(actor_id, "district.update", before, after)

    async def set_district_active(self, actor_id: int, code: str, active: bool) -> District:
        """Hide (refused while visible complexes are in it) or show a district."""
        usage = await self.staff_district(actor_id, code)
        before = usage.entry
        assert isinstance(before, District)
        if not active and usage.complexes:
            raise CatalogEntryInUse(complexes=usage.complexes)
        action = "district.show" if active else "district.hide"
        return await self._save_district(actor_id, action, before, replace(before, active=active))

    async def staff_sports(self, actor_id: int) -> list[Usage]:
        await catalog_admin(self._users, actor_id)
        complexes = await self._catalog.list_complexes()
        return [
            Usage(s, sum(1 for c in complexes if s.code in c.sports))
            for s in await self._catalog.list_sports(include_inactive=True)
        ]

    async def staff_sport(self, actor_id: int, code: str) -> Usage:
        await catalog_admin(self._users, actor_id)
        sport = await self._catalog.get_sport(code)
        if sport is None:
            raise NotFound(f"sport {code}")
        complexes = await self._catalog.list_complexes()
        return Usage(sport, sum(1 for c in complexes if code in c.sports))

    async def create_sport(self, actor_id: int, raw_name: str) -> Sport:
        await catalog_admin(self._users, actor_id)
        name = plain_text(raw_name, "name", low=2, high=NAME_MAX)
        code = await self._free_code("sport", self._catalog.get_sport)
        sport = Sport(code, LocalizedText.of(name))
        await self._catalog.upsert_sport(sport)
        await self._staff_audit.record(
            actor_id, "sport.create", "sport", code, before=None, after=_sport_snapshot(sport)
        )
        return sport

    async def edit_sport(self, actor_id: int, code: str, field: str, raw: str) -> Sport:
        """``name``, or ``icon`` (an emoji; «-» removes it)."""
        before = (await self.staff_sport(actor_id, code)).entry
        assert isinstance(before, Sport)
        if field == "name":
            after = replace(
                before, name=LocalizedText.of(plain_text(raw, "name", low=2, high=NAME_MAX))
            )
        elif field == "icon":
            icon = raw.strip()
            if icon == "-":
                icon = ""
            elif not 1 <= len(icon) <= ICON_MAX or any(ch.isalnum() or ch.isspace() for ch in icon):
                raise ValidationFailed("icon", "format")
            after = replace(before, icon=icon)
        else:
            raise ValidationFailed(field, "unknown")
        return await self._save_sport(actor_id, "sport.update", before, after)

    async def set_sport_active(self, actor_id: int, code: str, active: bool) -> Sport:
        """Hide (refused while visible complexes offer it) or show a sport."""
        usage = await self.staff_sport(actor_id, code)
        before = usage.entry
        assert isinstance(before, Sport)
        if not active and usage.complexes:
            raise CatalogEntryInUse(complexes=usage.complexes)
        action = "sport.show" if active else "sport.hide"
        return await self._save_sport(actor_id, action, before, replace(before, active=active))

    # --- helpers --------------------------------------------------------------------------------

    async def _require_complex(self, code: str) -> Complex:
        found = await self._catalog.get_complex(code)
        if found is None:
            raise NotFound(f"complex {code}")
        return found

    async def _open_district(self, code: str) -> District:
        district = await self._catalog.get_district(code)
        if district is None or not district.active:
            raise ValidationFailed("district", "unknown")
        return district

    async def _open_sport(self, code: str) -> Sport:
        sport = await self._catalog.get_sport(code)
        if sport is None or not sport.active:
            raise ValidationFailed("sport", "unknown")
        return sport

    async def _toggled(
        self, sports: tuple[str, ...], code: str, *, allow_empty: bool = False
    ) -> tuple[str, ...]:
        if code in sports:
            rest = tuple(s for s in sports if s != code)
            if not rest and not allow_empty:
                raise ValidationFailed("sports", "empty")
            return rest
        await self._open_sport(code)
        return (*sports, code)

    async def _free_code(self, prefix: str, lookup: Any) -> str:
        for _ in range(CODE_ATTEMPTS):
            code = f"{prefix}-{secrets.token_hex(4)}"
            if await lookup(code) is None:
                return code
        raise RuntimeError(f"no free {prefix} code")

    async def _record_complex(
        self, actor_id: int, action: str, before: Complex | None, after: Complex, **details: object
    ) -> None:
        await self._staff_audit.record(
            actor_id,
            action,
            "complex",
            after.code,
            before=complex_snapshot(before) if before else None,
            after=complex_snapshot(after),
            **details,
        )

    async def _save_district(
        self, actor_id: int, action: str, before: District, after: District
    ) -> District:
        if after == before:
            return before
        await self._catalog.upsert_district(after)
        await self._staff_audit.record(
            actor_id,
            action,
            "district",
            after.code,
            before=_district_snapshot(before),
            after=_district_snapshot(after),
        )
        return after

    async def _save_sport(self, actor_id: int, action: str, before: Sport, after: Sport) -> Sport:
        if after == before:
            return before
        await self._catalog.upsert_sport(after)
        await self._staff_audit.record(
            actor_id,
            action,
            "sport",
            after.code,
            before=_sport_snapshot(before),
            after=_sport_snapshot(after),
        )
        return after


_FAR = timedelta(days=3660)
