"""The callback-data codec: round trips, the 64-byte bound, and rejection of anything else.

Also: the declared actions keep the callback data of buttons already sent to users.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.bookings import booking_id
from bot.domain.ids import new_id
from bot.telegram import actions
from bot.telegram.callbacks import (
    MAX_BYTES,
    OutdatedButton,
    day_ref,
    declared_actions,
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


# Buttons drawn by earlier releases are still in users' chats: every declared action must keep
# the feature and action tokens it had when routing was by bare strings.
SENT_BUTTONS = {
    "start.consent_given": "1|rg|y",
    "start.consent_refused": "1|rg|n",
    "menu.open": "1|mn|h",
    "help.open": "1|hp|h",
    "catalog.districts": "1|ct|d",
    "catalog.district": "1|ct|dc",
    "catalog.card": "1|ct|c",
    "catalog.map": "1|ct|mp",
    "catalog.search": "1|ct|s",
    "catalog.toggle_sport": "1|ct|st",
    "catalog.clear_sports": "1|ct|sx",
    "catalog.search_results": "1|ct|sr",
    "catalog.nearest": "1|ct|nr",
    "applications.new": "1|ap|n",
    "applications.sport": "1|ap|sp",
    "applications.submit": "1|ap|go",
    "applications.list": "1|ap|l",
    "applications.view": "1|ap|v",
    "applications.cancel": "1|ap|c",
    "applications.confirm_cancel": "1|ap|y",
    "sessions.day": "1|ss|d",
    "sessions.session": "1|ss|v",
    "sessions.book": "1|ss|b",
    "sessions.mine": "1|ss|my",
    "sessions.booking": "1|ss|bv",
    "sessions.cancel": "1|ss|x",
    "sessions.reminder_cancel": "1|ss|rx",
    "sessions.confirm_cancel": "1|ss|xy",
    "sessions.calendar": "1|ss|ics",
    "sessions.accept_offer": "1|ss|oa",
    "sessions.decline_offer": "1|ss|od",
    "sessions.reminder_confirm": "1|ss|rc",
    "profile.view": "1|pf|v",
    "profile.name": "1|pf|n",
    "profile.phone": "1|pf|p",
    "profile.language": "1|pf|l",
    "profile.toggle": "1|pf|t",
    "profile.delete": "1|pf|d",
    "profile.confirm_delete": "1|pf|dy",
    # staff
    "staff.hub": "1|sf|h",
    "staff_applications.menu": "1|sa|m",
    "staff_applications.list": "1|sa|l",
    "staff_applications.card": "1|sa|v",
    "staff_applications.ask": "1|sa|a",
    "staff_applications.decide": "1|sa|d",
    "staff_applications.search": "1|sa|s",
    "staff_applications.results": "1|sa|r",
    "staff_users.search": "1|su|s",
    "staff_users.results": "1|su|r",
    "staff_users.card": "1|su|v",
    "staff_users.block": "1|su|b",
    "staff_users.role": "1|su|ro",
    "staff_users.set_role": "1|su|sr",
    "staff_users.complexes": "1|su|mc",
    "staff_users.assign": "1|su|as",
    "staff_audit.log": "1|sl|l",
    "staff_audit.by_staff": "1|sl|f",
    "staff_audit.by_object": "1|sl|o",
    "staff_broadcasts.home": "1|sbc|h",
    "staff_broadcasts.everyone": "1|sbc|e",
    "staff_broadcasts.complexes": "1|sbc|c",
    "staff_broadcasts.complex": "1|sbc|cv",
    "staff_broadcasts.sports": "1|sbc|k",
    "staff_broadcasts.sport": "1|sbc|kv",
    "staff_broadcasts.session_complexes": "1|sbc|sc",
    "staff_broadcasts.sessions": "1|sbc|s",
    "staff_broadcasts.session": "1|sbc|sv",
    "staff_broadcasts.send": "1|sbc|go",
    "staff_broadcasts.edit": "1|sbc|ed",
    "staff_broadcasts.discard": "1|sbc|x",
    "staff_broadcasts.cancel": "1|sbc|cx",
    "staff_broadcasts.list": "1|sbc|l",
    "staff_broadcasts.card": "1|sbc|v",
    "staff_broadcasts.resend": "1|sbc|rs",
    "staff_weekly_report.view": "1|swr|v",
    "staff_weekly_report.toggle": "1|swr|t",
    "staff_weekly_report.now": "1|swr|n",
    "staff_stats.view": "1|sst|v",
    "staff_stats.scope": "1|sst|s",
    "staff_stats.chart": "1|sst|c",
    "staff_exports.menu": "1|sex|m",
    "staff_exports.run": "1|sex|r",
    "staff_sessions.complexes": "1|sse|c",
    "staff_sessions.schedule": "1|sse|s",
    "staff_sessions.new": "1|sse|n",
    "staff_sessions.sport": "1|sse|sp",
    "staff_sessions.weekday": "1|sse|wd",
    "staff_sessions.duration": "1|sse|du",
    "staff_sessions.create": "1|sse|ok",
    "staff_sessions.abort": "1|sse|x",
    "staff_sessions.templates": "1|sse|t",
    "staff_sessions.template": "1|sse|tt",
    "staff_sessions.session": "1|sse|v",
    "staff_sessions.attend": "1|sse|a",
    "staff_sessions.all_came": "1|sse|all",
    "staff_sessions.checkin": "1|sse|ci",
    "staff_sessions.waitlist": "1|sse|w",
    "staff_sessions.capacity": "1|sse|cap",
    "staff_sessions.cancel": "1|sse|cx",
    "staff_sessions.confirm_cancel": "1|sse|cy",
    "staff_catalog.home": "1|sca|h",
    "staff_catalog.complexes": "1|sca|c",
    "staff_catalog.complex": "1|sca|v",
    "staff_catalog.field": "1|sca|f",
    "staff_catalog.district_pick": "1|sca|dp",
    "staff_catalog.set_district": "1|sca|sd",
    "staff_catalog.sports_pick": "1|sca|sp",
    "staff_catalog.toggle_sport": "1|sca|ts",
    "staff_catalog.hide": "1|sca|x",
    "staff_catalog.confirm_hide": "1|sca|xy",
    "staff_catalog.show": "1|sca|s",
    "staff_catalog.new": "1|sca|n",
    "staff_catalog.new_district": "1|sca|nd",
    "staff_catalog.new_sport": "1|sca|ns",
    "staff_catalog.new_done": "1|sca|ny",
    "staff_catalog.abort": "1|sca|na",
    "staff_catalog.districts": "1|sca|d",
    "staff_catalog.district": "1|sca|dv",
    "staff_catalog.new_district_name": "1|sca|dn",
    "staff_catalog.rename_district": "1|sca|dr",
    "staff_catalog.district_active": "1|sca|da",
    "staff_catalog.sports": "1|sca|k",
    "staff_catalog.sport": "1|sca|kv",
    "staff_catalog.new_sport_name": "1|sca|kn",
    "staff_catalog.edit_sport": "1|sca|ke",
    "staff_catalog.sport_active": "1|sca|ka",
}


def test_declared_actions_keep_the_callback_data_already_sent() -> None:
    drawn = {
        action.label: f"1|{action.token}|{action.action}"
        for enum in declared_actions()
        if enum.__module__ == actions.__name__
        for action in enum
    }
    assert drawn == SENT_BUTTONS
    assert decode(SENT_BUTTONS["profile.view"]).args == ()
