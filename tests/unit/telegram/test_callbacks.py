"""The callback-data codec: round trips, the 64-byte bound, and rejection of anything else."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.bookings import booking_id
from bot.domain.ids import new_id
from bot.telegram.callbacks import (
    MAX_BYTES,
    OutdatedButton,
    day_ref,
    decode,
    encode,
    parse_day_ref,
    resolve_sport_ref,
    sport_ref,
)

LONGEST_CODE = "a" * 48  # the catalog schema allows codes of up to 48 characters
LARGEST_USER_ID = 10**15 - 1  # far above any Telegram user id today


def test_round_trip() -> None:
    data = encode("ap", "y", new_id(), "p")
    parsed = decode(data)
    assert (parsed.feature, parsed.action) == ("ap", "y")
    assert parsed.args[1] == "p"
    assert decode(encode("mn", "h")).args == ()


@pytest.mark.parametrize(
    "args",
    [
        ("ss", "xy", booking_id(new_id(), LARGEST_USER_ID)),
        ("ss", "d", LONGEST_CODE, day_ref(date(2096, 12, 31)), sport_ref(LONGEST_CODE)),
        ("ap", "sp", LONGEST_CODE, sport_ref(LONGEST_CODE)),
        ("ap", "go", LONGEST_CODE, sport_ref(LONGEST_CODE)),
        ("ct", "dc", LONGEST_CODE, 1000),
        ("ct", "st", LONGEST_CODE),
        ("ap", "y", new_id(), "a"),
    ],
)
def test_the_longest_buttons_fit_in_64_bytes(args: tuple[str, ...]) -> None:
    data = encode(*args)
    assert len(data.encode()) <= MAX_BYTES
    assert decode(data).args == tuple(str(a) for a in args[2:])


def test_encode_refuses_what_would_not_fit_or_not_parse() -> None:
    with pytest.raises(ValueError, match="over 64"):
        encode("ct", "st", "a" * 60)
    with pytest.raises(ValueError, match="characters"):
        encode("ct", "c", "a|b")
    with pytest.raises(ValueError, match="characters"):
        encode("ct", "c", "Олимп")
    with pytest.raises(ValueError, match="feature"):
        encode("CT", "c")


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "0|ap|v|abc",  # an older release's version
        "2|ap|v|abc",  # a newer one
        "1|ap",  # no action
        "1|AP|v",
        "1|ap|v|<script>",
        "1|ap|v|" + "a" * 70,  # over 64 bytes
        "1|ap|v||",  # an empty argument
        "ap|v|abc",
        "garbage",
    ],
)
def test_tampered_or_old_data_is_outdated(data: str | None) -> None:
    with pytest.raises(OutdatedButton):
        decode(data)


def test_numeric_arguments_are_bounded() -> None:
    parsed = decode("1|ap|l|3")
    assert parsed.int_arg(0) == 3
    with pytest.raises(OutdatedButton):
        decode("1|ap|l|99999999").int_arg(0, high=1000)
    with pytest.raises(OutdatedButton):
        decode("1|ap|l|x").int_arg(0)
    with pytest.raises(OutdatedButton):
        decode("1|ap|l").arg(0)


def test_day_references_round_trip_and_stay_short() -> None:
    for day in (date(1970, 1, 1), date(2026, 11, 23), date(2096, 12, 31)):
        assert parse_day_ref(day_ref(day)) == day
        assert len(day_ref(day)) <= 3
    with pytest.raises(OutdatedButton):
        parse_day_ref("zzzzzz")
    with pytest.raises(OutdatedButton):
        parse_day_ref("!")


def test_sport_references_resolve_only_against_the_offered_sports() -> None:
    sports = ["swimming", "volleyball", "yoga"]
    assert resolve_sport_ref(sport_ref("yoga"), sports) == "yoga"
    with pytest.raises(OutdatedButton):
        resolve_sport_ref(sport_ref("boxing"), sports)
