"""Every feature's button actions, declared once: token, argument count, and a name for labels.

A button is drawn only from a member here (``keyboards.button(text, SessionAction.DAY, ...)``)
and each feature module binds a handler to every member of its enum (its ``ROUTES``); the router
built with the application refuses to start when one is missing. The enums live in one module,
not in the features, because features draw each other's buttons (a complex card offers "apply"
and "schedule") and keyboards draw all of them.

The tokens are the callback data of buttons already sent to users: never change one.
"""

from __future__ import annotations

from bot.telegram.callbacks import Action


class StartAction(Action, token="rg", feature="start"):
    CONSENT_GIVEN = "y"
    CONSENT_REFUSED = "n"


class MenuAction(Action, token="mn", feature="menu"):
    OPEN = "h"


class HelpAction(Action, token="hp", feature="help"):
    OPEN = "h"


class CatalogAction(Action, token="ct", feature="catalog"):
    DISTRICTS = "d", 1  # page
    DISTRICT = "dc", 2  # district code, page
    CARD = "c", 1  # complex code
    MAP = "mp", 1  # complex code
    SEARCH = "s"
    TOGGLE_SPORT = "st", 1  # sport code
    CLEAR_SPORTS = "sx"
    SEARCH_RESULTS = "sr", 1  # page
    NEAREST = "nr"


class ApplicationAction(Action, token="ap", feature="applications"):
    NEW = "n", 1  # complex code
    SPORT = "sp", 2  # complex code, sport ref
    SUBMIT = "go", 2  # complex code, sport ref
    LIST = "l", 1  # page
    VIEW = "v", 1  # application id
    CANCEL = "c", 1  # application id
    CONFIRM_CANCEL = "y", 2  # application id, status marker


class SessionAction(Action, token="ss", feature="sessions"):
    DAY = "d", 3  # complex code, day ref, sport ref or "-"
    SESSION = "v", 1  # session id
    BOOK = "b", 1  # session id
    MINE = "my", 1  # page
    BOOKING = "bv", 1  # booking id
    CANCEL = "x", 1  # booking id
    REMINDER_CANCEL = "rx", 1  # booking id (the reminder's «Отменить»)
    CONFIRM_CANCEL = "xy", 1  # booking id
    CALENDAR = "ics", 1  # booking id
    ACCEPT_OFFER = "oa", 1  # booking id
    DECLINE_OFFER = "od", 1  # booking id
    REMINDER_CONFIRM = "rc", 1  # booking id


class ProfileAction(Action, token="pf", feature="profile"):
    VIEW = "v"
    NAME = "n"
    PHONE = "p"
    LANGUAGE = "l", 1  # language
    TOGGLE = "t", 1  # notification kind
    DELETE = "d"
    CONFIRM_DELETE = "dy"


# --- staff (bot/telegram/staff/) -------------------------------------------------------------


class StaffAction(Action, token="sf", feature="staff"):
    HUB = "h"


class StaffSessionAction(Action, token="sse", feature="staff_sessions"):
    COMPLEXES = "c", 1  # page: the complexes whose sessions the staff member runs
    SCHEDULE = "s", 2  # complex code, page: its coming sessions
    NEW = "n", 2  # complex code, "o" one-off / "w" weekly: starts the guided set-up
    SPORT = "sp", 1  # sport ref (the draft is in the dialog state)
    WEEKDAY = "wd", 1  # 0..6
    DURATION = "du", 1  # minutes
    CREATE = "ok"  # the draft is complete: create it
    ABORT = "x"  # drop the draft
    TEMPLATES = "t", 1  # complex code: its weekly slots
    TEMPLATE = "tt", 2  # template id, "1" start / "0" stop
    SESSION = "v", 2  # session id, page of the list of people
    ATTEND = "a", 3  # booking id, "y" attended / "n" no-show, page
    ALL_CAME = "all", 1  # session id: «✅ Все пришли»
    CHECKIN = "ci", 1  # session id: type check-in codes
    WAITLIST = "w", 1  # session id
    CAPACITY = "cap", 1  # session id: type the new number of seats
    CANCEL = "cx", 1  # session id: type the reason
    CONFIRM_CANCEL = "cy", 1  # session id (the reason is in the dialog state)


class StaffCatalogAction(Action, token="sca", feature="staff_catalog"):
    HOME = "h"
    COMPLEXES = "c", 1  # page
    COMPLEX = "v", 1  # complex code
    FIELD = "f", 2  # complex code, field: type its new value
    DISTRICT_PICK = "dp", 1  # complex code: the districts to move it to
    SET_DISTRICT = "sd", 2  # complex code, district ref
    SPORTS_PICK = "sp", 1  # complex code: its sports, ticked
    TOGGLE_SPORT = "ts", 2  # complex code, sport ref
    HIDE = "x", 1  # complex code: type why (its coming sessions are cancelled)
    CONFIRM_HIDE = "xy", 1  # complex code (the reason is in the dialog state)
    SHOW = "s", 1  # complex code
    NEW = "n"  # a new complex: name, district, address, sports
    NEW_DISTRICT = "nd", 1  # district ref
    NEW_SPORT = "ns", 1  # sport ref (ticked or unticked)
    NEW_DONE = "ny"  # the sports are chosen: create the complex
    ABORT = "na"  # drop the new complex
    DISTRICTS = "d"
    DISTRICT = "dv", 1  # district code
    NEW_DISTRICT_NAME = "dn"  # type the name of a new district
    RENAME_DISTRICT = "dr", 1  # district code: type its new name
    DISTRICT_ACTIVE = "da", 2  # district code, "1" show / "0" hide
    SPORTS = "k"
    SPORT = "kv", 1  # sport code
    NEW_SPORT_NAME = "kn"  # type the name of a new sport
    EDIT_SPORT = "ke", 2  # sport code, "name" / "icon": type it
    SPORT_ACTIVE = "ka", 2  # sport code, "1" show / "0" hide


class StaffApplicationAction(Action, token="sa", feature="staff_applications"):
    MENU = "m"  # the «📋 Заявки» screen: statuses with counts, search
    LIST = "l", 2  # status marker or "all", page
    CARD = "v", 1  # application id
    ASK = "a", 3  # application id, target marker, version shown: asks for the comment
    DECIDE = "d", 3  # application id, target marker, version shown: without a comment
    SEARCH = "s"  # asks what to look for
    RESULTS = "r", 1  # page of the last search


class StaffUserAction(Action, token="su", feature="staff_users"):
    SEARCH = "s"  # asks whom to look for
    RESULTS = "r", 1  # page of the last search
    CARD = "v", 1  # Telegram id
    BLOCK = "b", 2  # Telegram id, "1" to block / "0" to unblock: asks for the reason
    ROLE = "ro", 1  # Telegram id: the roles to choose from
    SET_ROLE = "sr", 2  # Telegram id, role marker ("-": no role)
    COMPLEXES = "mc", 2  # Telegram id, page: a manager's complexes
    ASSIGN = "as", 4  # Telegram id, complex reference, "1" assign / "0" take away, page


class StaffStatsAction(Action, token="sst", feature="staff_stats"):
    VIEW = "v", 2  # period marker, complex reference or "-" (every complex of the staff member)
    SCOPE = "s", 1  # period marker: the complexes to pick from
    CHART = "c", 2  # period marker, complex reference or "-": the figures as a chart image


class StaffExportAction(Action, token="sex", feature="staff_exports"):
    MENU = "m", 2  # period marker, complex reference or "-": what to export
    RUN = "r", 3  # export marker ("a" applications, "b" bookings), period marker, complex or "-"


class StaffAuditAction(Action, token="sl", feature="staff_audit"):
    LOG = "l", 4  # staff id or "-", object kind marker or "-", object id or "-", page
    BY_STAFF = "f"  # the staff members to filter by
    BY_OBJECT = "o"  # the kinds of object to filter by


class StaffBroadcastAction(Action, token="sbc", feature="staff_broadcasts"):
    HOME = "h"  # whom to write to
    EVERYONE = "e"  # every resident who allows news (admins)
    COMPLEXES = "c", 1  # page: the complexes in scope
    COMPLEX = "cv", 1  # complex reference: its residents
    SPORTS = "k", 1  # page: the sports offered in scope
    SPORT = "kv", 1  # sport reference: its residents
    SESSION_COMPLEXES = "sc", 1  # page: the complex of the session
    SESSIONS = "s", 2  # complex reference, page: its coming sessions
    SESSION = "sv", 1  # session id: its people
    SEND = "go", 1  # broadcast id: queue the draft previewed
    EDIT = "ed", 1  # broadcast id: type the draft's text again
    DISCARD = "x", 1  # broadcast id: drop the draft
    CANCEL = "cx", 1  # broadcast id: stop it (the progress message's button)
    LIST = "l", 1  # page: broadcasts sent
    CARD = "v", 1  # broadcast id
    RESEND = "rs", 1  # broadcast id: send again to the unconfirmed


class StaffReportAction(Action, token="swr", feature="staff_weekly_report"):
    VIEW = "v"  # when it comes, over which complexes, on or off
    TOGGLE = "t", 1  # "1" on / "0" off
    NOW = "n"  # last week's report now
