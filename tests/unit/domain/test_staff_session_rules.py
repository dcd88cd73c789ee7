"""Rules of the staff side of sessions: what staff type (days, times, durations, capacities,
reasons, check-in codes), when attendance may be marked, and the no-show rule."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.domain.bookings import (
    CHECKIN_ALPHABET,
    CHECKIN_LENGTH,
    Attendance,
    NoShowRule,
    can_mark_attendance,
    new_checkin_code,
    normalize_checkin_code,
)
from bot.domain.errors import ValidationFailed
from bot.domain.sessions import (
    DraftKind,
    SessionDraft,
    parse_capacity,
    parse_clock,
    parse_day,
    parse_duration,
    validate_reason,
)

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("25.11", date(2026, 11, 25)),
        (" 23.11 ", TODAY),
        ("5.1", date(2027, 1, 5)),  # January has passed this year: the next one
        ("25/11/2026", date(2026, 11, 25)),
        ("25-11-26", date(2026, 11, 25)),
        ("2026-12-01", date(2026, 12, 1)),
    ],
)
def test_days_are_read_in_the_forms_staff_type(raw: str, expected: date) -> None:
    assert parse_day(raw, TODAY) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("завтра", "format"),
        ("25.11.2026 10:00", "format"),
        ("31.02", "no_such_day"),
        ("12.13.2026", "no_such_day"),
        ("22.11.2026", "in_past"),
        ("01.01.2030", "too_far"),
    ],
)
def test_bad_days_are_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_day(raw, TODAY)
    assert (refused.value.field, refused.value.reason) == ("day", reason)


def test_times_durations_and_capacities() -> None:
    assert parse_clock("10:00") == time(10, 0)
    assert parse_clock("9.30") == time(9, 30)
    assert parse_clock("18-45") == time(18, 45)
    for bad in ("24:00", "10:60", "10", "десять"):
        with pytest.raises(ValidationFailed):
            parse_clock(bad)
    assert parse_duration("60") == 60
    assert parse_duration("1:30") == 90
    assert parse_duration("45 мин") == 45
    for bad, reason in (("0", "out_of_range"), ("721", "out_of_range"), ("час", "format")):
        with pytest.raises(ValidationFailed) as refused:
            parse_duration(bad)
        assert refused.value.reason == reason
    assert parse_capacity(" 12 ") == 12
    for bad, reason in (("0", "out_of_range"), ("501", "out_of_range"), ("-3", "format")):
        with pytest.raises(ValidationFailed) as refused:
            parse_capacity(bad)
        assert refused.value.reason == reason


def test_a_cancellation_reason_is_plain_and_bounded() -> None:
    assert validate_reason("  Авария   водопровода ") == "Авария водопровода"
    for bad, reason in (("ок", "too_short"), ("x" * 201, "too_long"), ("a\u202eb c", "characters")):
        with pytest.raises(ValidationFailed) as refused:
            validate_reason(bad)
        assert refused.value.reason == reason


def test_check_in_codes_are_unambiguous_and_typed_loosely() -> None:
    codes = {new_checkin_code() for _ in range(200)}
    assert all(len(code) == CHECKIN_LENGTH for code in codes)
    assert all(set(code) <= set(CHECKIN_ALPHABET) for code in codes)
    assert len(codes) > 190  # random, not a counter
    assert not set("0O1IL2Z5S8BQG") & set(CHECKIN_ALPHABET)
    assert normalize_checkin_code(" acd-347 ") == "ACD347"
    assert normalize_checkin_code("АСЕ 347") == "ACE347"  # Cyrillic А, С, Е
    for bad in ("ACD34", "ACD3470", "ACD30O", "ВСЕ347"):  # В reads as B, not in the alphabet
        with pytest.raises(ValidationFailed):
            normalize_checkin_code(bad)


def test_attendance_opens_an_hour_before_and_no_shows_at_the_start() -> None:
    start = NOW + timedelta(hours=2)
    assert not can_mark_attendance(Attendance.ATTENDED, NOW, start)
    assert can_mark_attendance(Attendance.ATTENDED, start - timedelta(hours=1), start)
    assert not can_mark_attendance(Attendance.NO_SHOW, start - timedelta(minutes=1), start)
    assert can_mark_attendance(Attendance.NO_SHOW, start, start)


def test_three_no_shows_in_thirty_days_block_for_fourteen() -> None:
    rule = NoShowRule(limit=3, window_days=30, block_days=14)
    marks = [NOW - timedelta(days=d) for d in (20, 10, 1)]
    assert rule.blocked_until(marks, NOW) == NOW - timedelta(days=1) + timedelta(days=14)
    assert rule.blocked_until(marks[:2], NOW) is None
    # The block ends fourteen days after the third, although all three are still in the window.
    assert rule.blocked_until(marks, NOW + timedelta(days=13)) is None
    # Spread wider than the window: no block.
    spread = [NOW - timedelta(days=d) for d in (40, 20, 1)]
    assert rule.blocked_until(spread, NOW) is None


def test_no_shows_that_led_to_a_block_do_not_count_again() -> None:
    rule = NoShowRule(limit=2, window_days=30, block_days=7)
    first_block = [NOW - timedelta(days=d) for d in (20, 19)]
    again = [*first_block, NOW - timedelta(days=1)]
    assert rule.blocked_until(again, NOW) is None  # one fresh no-show after the block
    assert rule.blocked_until([*again, NOW], NOW) == NOW + timedelta(days=7)


def test_a_limit_of_zero_turns_the_rule_off() -> None:
    assert NoShowRule(limit=0).blocked_until([NOW] * 10, NOW) is None
    assert NoShowRule(limit=0).enabled is False
    with pytest.raises(ValueError, match="no-show rule"):
        NoShowRule(limit=3, window_days=0)


def test_a_session_draft_asks_for_its_fields_in_order_and_survives_the_dialog_state() -> None:
    draft = SessionDraft(DraftKind.ONE_OFF, "fok-olimp")
    values: dict[str, dict[str, object]] = {
        "sport": {"sport_code": "yoga"},
        "day": {"day": date(2026, 11, 25)},
        "start": {"start": time(10, 0)},
        "duration": {"duration_minutes": 60},
        "capacity": {"capacity": 12},
    }
    asked = []
    while (field := draft.missing()) is not None:
        asked.append(field)
        # Through the dialog state's JSON form between two updates.
        draft = SessionDraft.from_data(
            json.loads(json.dumps(replace(draft, **values[field]).to_data()))
        )
    assert asked == ["sport", "day", "start", "duration", "capacity"]
    assert draft == SessionDraft(
        DraftKind.ONE_OFF, "fok-olimp", "yoga", date(2026, 11, 25), None, time(10, 0), 60, 12
    )
    weekly = SessionDraft(DraftKind.WEEKLY, "fok-olimp", sport_code="yoga")
    assert weekly.missing() == "weekday"
    assert weekly.with_weekday(6).missing() == "start"
    with pytest.raises(ValidationFailed):
        weekly.with_weekday(7)
    with pytest.raises(ValueError, match="not a session draft"):
        SessionDraft.from_data({"kind": "one_off"})
