"""Domain errors. Each carries a stable ``code`` that the UI layer maps to a localized text."""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.code)
        self.details = details


class NotFound(DomainError):
    code = "not_found"


class PermissionDenied(DomainError):
    code = "permission_denied"


class ValidationFailed(DomainError):
    code = "validation_failed"

    def __init__(self, field: str, reason: str, message: str = "") -> None:
        super().__init__(message or f"{field}: {reason}", field=field, reason=reason)
        self.field = field
        self.reason = reason


class InvalidTransition(DomainError):
    code = "invalid_transition"


class DuplicateActiveApplication(DomainError):
    code = "duplicate_application"


class PhoneRequired(DomainError):
    code = "phone_required"


class ConsentRequired(DomainError):
    code = "consent_required"


class UserBlocked(DomainError):
    code = "user_blocked"


class CancellationWindowClosed(DomainError):
    code = "cancellation_window_closed"


class SessionUnavailable(DomainError):
    """The session is cancelled, already started or otherwise not bookable."""

    code = "session_unavailable"


class OfferUnavailable(DomainError):
    """A waitlist offer is no longer valid (expired, taken or never made)."""

    code = "offer_unavailable"


class StaleAction(DomainError):
    """The state changed since the button was drawn."""

    code = "stale_action"


class BookingBlocked(DomainError):
    """Too many no-shows: booking is refused until ``details["until"]`` (aware UTC)."""

    code = "booking_blocked"


class CapacityBelowBooked(DomainError):
    """A session's capacity cannot go below the seats taken (``details["booked"]``)."""

    code = "capacity_below_booked"


class AttendanceNotOpen(DomainError):
    """Too early to mark attendance: arrivals from an hour before the start, no-shows after it."""

    code = "attendance_not_open"


class CheckinCodeUnknown(DomainError):
    """No active booking of the session has the code staff typed."""

    code = "checkin_code_unknown"


class CatalogEntryInUse(DomainError):
    """A district or sport still used by visible complexes cannot be hidden
    (``details["complexes"]``: how many)."""

    code = "catalog_entry_in_use"
