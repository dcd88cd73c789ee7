"""Redis Cluster key names.

Every key carries a hash tag (the part in braces) chosen so that the keys one operation touches
together share a slot: a chat's dialog states and its outbound budget live under ``{chat:<id>}``;
the global outbound budgets (bulk sends', and the optional one of replies) and the global pause
share ``{out}`` (design §4 rule 8).
"""

from __future__ import annotations

PREFIX = "fok"


def chat_tag(chat_id: int | str) -> str:
    return f"{{chat:{chat_id}}}"


def dialog_state(chat_id: int, user_id: int) -> str:
    return f"{PREFIX}:{chat_tag(chat_id)}:state:{user_id}"


def chat_outbound(chat_id: int | str) -> str:
    return f"{PREFIX}:{chat_tag(chat_id)}:out"


def global_outbound_budget() -> str:
    return f"{PREFIX}:{{out}}:budget"


def reply_outbound_budget() -> str:
    """The replies' own global budget (only with ``LIMITS_REPLY_SENDS_PER_SECOND``)."""
    return f"{PREFIX}:{{out}}:reply-budget"


def global_outbound_pause() -> str:
    return f"{PREFIX}:{{out}}:pause"


def update_dedup(update_id: int) -> str:
    return f"{PREFIX}:{{update:{update_id}}}:dedup"


def user_flood(user_id: int) -> str:
    return f"{PREFIX}:{{user:{user_id}}}:flood"


def lock(name: str) -> str:
    return f"{PREFIX}:{{lock:{name}}}"


def sender_update_dedup(user_id: int, update_id: int) -> str:
    """An update's de-duplication mark under its sender's tag, beside their flood key: the web
    tier claims the update and counts it against the sender's budget in one script."""
    return f"{PREFIX}:{{user:{user_id}}}:dedup:{update_id}"
