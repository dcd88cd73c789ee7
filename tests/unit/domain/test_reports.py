"""Reporting periods: whole local days, the presets staff pick, bounds in a complex's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.domain.errors import ValidationFailed
from bot.domain.reports import Period, PeriodKind, last_days, period_of, share

TODAY = date(2026, 3, 31)


@pytest.mark.parametrize(
    ("kind", "first", "last"),
    [
        (PeriodKind.TODAY, date(2026, 3, 31), date(2026, 3, 31)),
        (PeriodKind.WEEK, date(2026, 3, 25), date(2026, 3, 31)),
        (PeriodKind.MONTH, date(2026, 3, 2), date(2026, 3, 31)),
        (PeriodKind.QUARTER, date(2026, 1, 1), date(2026, 3, 31)),
        (PeriodKind.THIS_MONTH, date(2026, 3, 1), date(2026, 3, 31)),
        (PeriodKind.LAST_MONTH, date(2026, 2, 1), date(2026, 2, 28)),
    ],
)
def test_each_preset_is_a_run_of_whole_days_ending_today(
    kind: PeriodKind, first: date, last: date
) -> None:
    assert period_of(kind, TODAY) == Period(first, last)


def test_last_month_in_january_is_december_of_the_year_before() -> None:
    assert period_of(PeriodKind.LAST_MONTH, date(2027, 1, 5)) == Period(
        date(2026, 12, 1), date(2026, 12, 31)
    )


def test_bounds_are_the_local_midnights_in_utc() -> None:
    period = Period(date(2026, 11, 23), date(2026, 11, 24))
    assert period.days == 2
    assert period.bounds("Europe/Moscow") == (
        datetime(2026, 11, 22, 21, 0, tzinfo=UTC),
        datetime(2026, 11, 24, 21, 0, tzinfo=UTC),
    )
    assert period.bounds("Asia/Yekaterinburg")[0] == datetime(2026, 11, 22, 19, 0, tzinfo=UTC)


def test_a_period_is_never_reversed_nor_longer_than_a_year() -> None:
    with pytest.raises(ValidationFailed):
        Period(date(2026, 1, 2), date(2026, 1, 1))
    with pytest.raises(ValidationFailed):
        last_days(367, TODAY)
    with pytest.raises(ValidationFailed):
        last_days(0, TODAY)
    assert last_days(366, TODAY).days == 366


def test_a_share_of_nothing_is_none_not_zero() -> None:
    assert share(0, 0) is None
    assert share(1, 4) == 0.25
