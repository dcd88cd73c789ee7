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


class StaffAuditAction(Action, token="sl", feature="staff_audit"):
    LOG = "l", 4  # staff id or "-", object kind marker or "-", object id or "-", page
    BY_STAFF = "f"  # the staff members to filter by
    BY_OBJECT = "o"  # the kinds of object to filter by
