"""Dialog (FSM) state in Redis Cluster per (chat, user): read on every update, never cached.

Writes carry the version that was read; when another instance wrote in between, the change is
re-applied to the fresh state (a few times) instead of overwriting it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.domain.users import User
from bot.services.ports.ephemeral import DialogState, DialogStateConflict, DialogStateStore

IDLE = ""
REG_NAME = "reg.name"
REG_PHONE = "reg.phone"
REG_CONSENT = "reg.consent"
APPLY_PHONE = "apply.phone"
APPLY_COMMENT = "apply.comment"
PROFILE_NAME = "profile.name"
PROFILE_PHONE = "profile.phone"
NEAREST_LOCATION = "nearest.location"
# staff: sessions and the catalog (bot/telegram/staff/sessions.py, catalog.py)
STAFF_SESSION_DRAFT = "staff.sessions.draft"  # a new session or weekly slot, field by field
STAFF_SESSION_CHECKIN = "staff.sessions.checkin"  # check-in codes typed at the door
STAFF_SESSION_CAPACITY = "staff.sessions.capacity"
STAFF_SESSION_CANCEL = "staff.sessions.cancel"  # why the session is cancelled
STAFF_CATALOG_NEW = "staff.catalog.new"  # a new complex: its name, then its address
STAFF_CATALOG_FIELD = "staff.catalog.field"  # one field of a complex
STAFF_CATALOG_HIDE = "staff.catalog.hide"  # why the complex is hidden
STAFF_CATALOG_DISTRICT = "staff.catalog.district"  # a district's name (new or renamed)
STAFF_CATALOG_SPORT = "staff.catalog.sport"  # a sport's name or icon
# staff (bot/telegram/staff/)
STAFF_APP_COMMENT = "staff.app_comment"
STAFF_APP_SEARCH = "staff.app_search"
STAFF_USER_SEARCH = "staff.user_search"
STAFF_BLOCK_REASON = "staff.block_reason"
STAFF_BROADCAST_TEXT = "staff.broadcast.text"  # the text of a broadcast (its audience chosen)
# Every step a feature may enter; the router refuses to start unless each is claimed by one
# feature (bot.telegram.routing.Step), which also says what input the step takes.
STEPS = frozenset(
    {
        REG_NAME,
        REG_PHONE,
        REG_CONSENT,
        APPLY_PHONE,
        APPLY_COMMENT,
        PROFILE_NAME,
        PROFILE_PHONE,
        NEAREST_LOCATION,
        STAFF_SESSION_DRAFT,
        STAFF_SESSION_CHECKIN,
        STAFF_SESSION_CAPACITY,
        STAFF_SESSION_CANCEL,
        STAFF_CATALOG_NEW,
        STAFF_CATALOG_FIELD,
        STAFF_CATALOG_HIDE,
        STAFF_CATALOG_DISTRICT,
        STAFF_CATALOG_SPORT,
        STAFF_APP_COMMENT,
        STAFF_APP_SEARCH,
        STAFF_USER_SEARCH,
        STAFF_BLOCK_REASON,
        STAFF_BROADCAST_TEXT,
    }
)

WRITE_ATTEMPTS = 4

Data = dict[str, Any]
Change = Callable[[DialogState], tuple[str, Data]]


async def load(store: DialogStateStore, chat_id: int, user_id: int) -> DialogState:
    found = await store.get(chat_id, user_id)
    return found if found is not None else DialogState(step=IDLE, data={}, version=0)


def resumed(state: DialogState, user: User) -> DialogState:
    """The state an input is handled in: registration's step, read from the user's record, when
    the dialog is idle while they are registering.

    Redis replicates asynchronously, so a master that fails just after a write may take it along
    (its replica is promoted without it): /start's step, say, and the name typed next would then
    be an unknown input. The record, in MongoDB, says where registration stands instead.
    """
    if state.step != IDLE or not user.is_registering:
        return state
    if user.name is None:
        step = REG_NAME
    elif user.phone is None:
        step = REG_PHONE
    else:
        step = REG_CONSENT
    return DialogState(step=step, data=state.data, version=state.version)


async def change(store: DialogStateStore, chat_id: int, user_id: int, apply: Change) -> DialogState:
    """Apply ``apply`` to the current state and write it, retrying on a version conflict."""
    state = await load(store, chat_id, user_id)
    for attempt in range(WRITE_ATTEMPTS):
        step, data = apply(state)
        try:
            return await store.set_if_version(chat_id, user_id, step, data, state.version)
        except DialogStateConflict:
            if attempt == WRITE_ATTEMPTS - 1:
                raise
            state = await load(store, chat_id, user_id)
    raise AssertionError("unreachable")


async def enter(
    store: DialogStateStore, chat_id: int, user_id: int, step: str, data: Data | None = None
) -> DialogState:
    """Move the dialog to ``step`` whatever it was, keeping unrelated keys (e.g. search picks)."""

    def to_step(state: DialogState) -> tuple[str, Data]:
        merged = {k: v for k, v in state.data.items() if k in PERSISTENT_KEYS}
        merged.update(data or {})
        return step, merged

    return await change(store, chat_id, user_id, to_step)


async def leave(store: DialogStateStore, chat_id: int, user_id: int) -> DialogState:
    """Back to idle (no pending input), keeping persistent keys."""
    return await enter(store, chat_id, user_id, IDLE)


# Keys that survive step changes: the sports picked for a search, the flood-notice mark.
SEARCH_SPORTS = "search_sports"
FLOOD_NOTICE_UNTIL = "flood_notice_until"
PERSISTENT_KEYS = frozenset({SEARCH_SPORTS, FLOOD_NOTICE_UNTIL})
