"""The per-update context: PTB's CallbackContext plus what the gate learned about the sender.

PTB builds one context per update and passes it to every handler group, so the gate (group -1)
can leave the sender's user record here for the feature handler. Nothing here outlives the update:
``user_data``/``chat_data`` (process memory) are never used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from telegram.ext import Application, CallbackContext, ExtBot

from bot.domain.users import User
from bot.services.container import Services

# Where build_application leaves the process's services for every handler.
SERVICES_KEY = "fok_services"


class FokContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id, user_id)
        self._resident: User | None = None
        self.callback_answered = False
        # The label of the route that took the update ("sessions.day"), for handler timing.
        self.route: str | None = None

    @property
    def services(self) -> Services:
        found = self.application.bot_data[SERVICES_KEY]
        if not isinstance(found, Services):
            raise TypeError("bot_data holds no Services: the application was not built by us")
        return found

    @property
    def resident(self) -> User:
        """The sender's user record, loaded by the gate for this update."""
        if self._resident is None:
            raise RuntimeError("the gate did not run for this update")
        return self._resident

    @resident.setter
    def resident(self, user: User) -> None:
        self._resident = user

    @property
    def language(self) -> str:
        return self._resident.language if self._resident is not None else "ru"


class View(Protocol):
    """What rendering needs: the services and the reader's language (a context or a notice)."""

    @property
    def services(self) -> Services: ...

    @property
    def language(self) -> str: ...


@dataclass(frozen=True)
class NoticeView:
    """Rendering for a message sent outside any update (workers, the outbox deliverer)."""

    services: Services
    language: str
