"""Typed routes: each feature binds its declared actions and its dialog steps, one router checks.

A feature module exports ``ROUTES = Routes(SessionAction, {SessionAction.DAY: day_schedule, ...},
steps=(Step(dialog.APPLY_COMMENT, text=on_comment),))``. :class:`Router` is built with the PTB
application (``build_application``) and raises :class:`RoutingError` there, at start, when

- a declared action (a member of an enum in ``bot.telegram.actions``) has no handler, a declared
  enum is routed by no feature, or a handler is bound to an action its feature did not declare;
- two features share a token or a name, or two actions of one feature share a token (an enum
  alias), or a token is not one the codec carries;
- a dialog step of ``dialog.STEPS`` is claimed by no feature, by two, or an unknown step is
  claimed.

At a press the router finds the handler by (feature, action); data that names no declared action,
or carries another number of arguments than declared, is an outdated button (never guessed at).
The matched route's label (``sessions.day``, ``start.text:reg.name``) is left on the context for
the web tier's handler timing.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from telegram import Update

from bot.services.ports.ephemeral import DialogState
from bot.telegram import actions, dialog
from bot.telegram.callbacks import (
    Action,
    Callback,
    OutdatedButton,
    declared_actions,
    decode,
    is_token,
)
from bot.telegram.context import FokContext
from bot.telegram.screens import ButtonHandler, Handler, guarded

TextHandler = Callable[[Update, FokContext, str, DialogState], Coroutine[Any, Any, None]]
InputHandler = Callable[[Update, FokContext, DialogState], Coroutine[Any, Any, None]]
Kind = Literal["text", "contact", "location"]

# A step claim for whatever step no feature claims (idle included), one handler per input kind.
ANY_STEP = "*"


def product_actions() -> tuple[type[Action], ...]:
    """The product's action enums: every one declared in ``bot.telegram.actions``."""
    return tuple(a for a in declared_actions() if a.__module__ == actions.__name__)


class RoutingError(ValueError):
    """The declared routes do not add up; raised while the application is built."""


@dataclass(frozen=True)
class Step:
    """What one dialog step accepts; ``cancellable``: the typed «Отмена» button leaves it."""

    name: str
    text: TextHandler | None = None
    contact: InputHandler | None = None
    location: InputHandler | None = None
    cancellable: bool = False


@dataclass(frozen=True)
class Routes:
    """One feature: a handler for every action of its enum, and the dialog steps it owns."""

    actions: type[Action]
    buttons: Mapping[Action, ButtonHandler]
    steps: Sequence[Step] = ()


@dataclass(frozen=True)
class ButtonRoute:
    action: Action
    handler: ButtonHandler

    @property
    def label(self) -> str:
        return self.action.label


@dataclass(frozen=True)
class TextRoute:
    label: str
    handler: TextHandler


@dataclass(frozen=True)
class InputRoute:
    label: str
    handler: InputHandler


@dataclass
class _Claims:
    steps: dict[str, tuple[str, Step]] = field(default_factory=dict)
    other: dict[Kind, tuple[str, Step]] = field(default_factory=dict)


def _kinds(step: Step) -> tuple[Kind, ...]:
    found: list[Kind] = []
    if step.text is not None:
        found.append("text")
    if step.contact is not None:
        found.append("contact")
    if step.location is not None:
        found.append("location")
    return tuple(found)


class Router:
    """The product's routes, checked once; lookups for buttons and dialog inputs."""

    def __init__(
        self,
        features: Iterable[Routes],
        *,
        declared: Iterable[type[Action]] | None = None,
        steps: Iterable[str] = dialog.STEPS,
    ) -> None:
        self._features: dict[str, type[Action]] = {}
        self._buttons: dict[tuple[str, str], ButtonRoute] = {}
        self._claims = _Claims()
        names: dict[str, type[Action]] = {}
        known_steps = frozenset(steps)
        for routes in tuple(features):
            self._add_buttons(routes, names)
            for step in routes.steps:
                self._claim(routes.actions.feature, step, known_steps)
        self._check_declared(product_actions() if declared is None else declared)
        unclaimed = sorted(known_steps - set(self._claims.steps))
        if unclaimed:
            raise RoutingError(f"dialog steps no feature claims: {', '.join(unclaimed)}")

    # --- building -----------------------------------------------------------------------

    def _add_buttons(self, routes: Routes, names: dict[str, type[Action]]) -> None:
        actions = routes.actions
        if not (isinstance(actions, type) and issubclass(actions, Action)):
            raise RoutingError(f"{actions!r} is not an Action enum")
        where = f"{actions.__qualname__} ({actions.feature!r})"
        if not is_token(actions.token):
            raise RoutingError(f"{where}: malformed feature token {actions.token!r}")
        if not actions.feature.isidentifier():
            raise RoutingError(f"{where}: the feature name must be an identifier")
        for taken, by in ((actions.token, self._features), (actions.feature, names)):
            if taken in by:
                raise RoutingError(f"{where} collides with {by[taken].__qualname__} on {taken!r}")
        self._features[actions.token] = actions
        names[actions.feature] = actions
        members = list(actions)
        aliases = sorted(set(actions.__members__) - {m.name for m in members})
        if aliases:
            raise RoutingError(f"{where}: {', '.join(aliases)} reuse another action's token")
        for member in members:
            if not is_token(member.value):
                raise RoutingError(f"{member.label}: malformed action token {member.value!r}")
            if not isinstance(member.arity, int) or member.arity < 0:
                raise RoutingError(f"{member.label}: bad argument count {member.arity!r}")
        foreign = [key for key in routes.buttons if not isinstance(key, actions)]
        if foreign:
            raise RoutingError(f"{where}: handlers for actions it does not declare: {foreign!r}")
        missing = [member.label for member in members if member not in routes.buttons]
        if missing:
            raise RoutingError(f"{where}: no handler for {', '.join(missing)}")
        for member in members:
            handler = routes.buttons[member]
            if not callable(handler):
                raise RoutingError(f"{member.label}: the handler is not callable")
            self._buttons[(actions.token, member.action)] = ButtonRoute(member, handler)

    def _claim(self, feature: str, step: Step, known_steps: frozenset[str]) -> None:
        if step.name == ANY_STEP:
            if step.cancellable:
                raise RoutingError(f"{feature}: only a named step can be cancellable")
            for kind in _kinds(step):
                if kind in self._claims.other:
                    owner = self._claims.other[kind][0]
                    raise RoutingError(f"{feature} and {owner} both take {kind} at any step")
                self._claims.other[kind] = (feature, step)
            return
        if step.name not in known_steps:
            raise RoutingError(f"{feature} claims {step.name!r}, which is not a dialog step")
        if step.name in self._claims.steps:
            owner = self._claims.steps[step.name][0]
            raise RoutingError(f"{feature} and {owner} both claim the step {step.name!r}")
        self._claims.steps[step.name] = (feature, step)

    def _check_declared(self, declared: Iterable[type[Action]]) -> None:
        routed = set(self._features.values())
        unrouted = [a.__qualname__ for a in declared if a not in routed]
        if unrouted:
            raise RoutingError(f"declared actions no feature routes: {', '.join(unrouted)}")

    # --- buttons ------------------------------------------------------------------------

    @property
    def features(self) -> tuple[type[Action], ...]:
        return tuple(self._features.values())

    def button(self, data: Callback) -> ButtonRoute:
        """The route of decoded data; anything not declared (or of another arity) is outdated."""
        route = self._buttons.get((data.feature, data.action))
        if route is None:
            raise OutdatedButton(f"no route {data.feature}/{data.action}")
        if len(data.args) != route.action.arity:
            raise OutdatedButton(f"{route.label} takes {route.action.arity} arguments")
        return route

    def buttons(self, actions: type[Action]) -> Handler:
        """The PTB callback for one feature's buttons: decode, route, run guarded."""
        if self._features.get(actions.token) is not actions:
            raise RoutingError(f"{actions.__qualname__} is not routed")

        async def dispatch(update: Update, context: FokContext) -> None:
            query = update.callback_query
            data = decode(query.data if query is not None else None)
            route = self.button(data)
            context.route = route.label
            await route.handler(update, context, data)

        dispatch.__qualname__ = f"buttons[{actions.feature}]"
        return guarded(dispatch)

    # --- dialog inputs ------------------------------------------------------------------

    def cancellable(self, step: str) -> bool:
        claim = self._claims.steps.get(step)
        return claim is not None and claim[1].cancellable

    def _claim_for(self, step: str, kind: Kind) -> tuple[str, Step, str] | None:
        """The feature and step claim that take ``kind`` at ``step``: its own, else any-step."""
        claim = self._claims.steps.get(step)
        if claim is not None and kind in _kinds(claim[1]):
            return claim[0], claim[1], step
        other = self._claims.other.get(kind)
        return (other[0], other[1], "other") if other is not None else None

    def text(self, step: str) -> TextRoute | None:
        found = self._claim_for(step, "text")
        if found is None or found[1].text is None:
            return None
        return TextRoute(f"{found[0]}.text:{found[2]}", found[1].text)

    def contact(self, step: str) -> InputRoute | None:
        found = self._claim_for(step, "contact")
        if found is None or found[1].contact is None:
            return None
        return InputRoute(f"{found[0]}.contact:{found[2]}", found[1].contact)

    def location(self, step: str) -> InputRoute | None:
        found = self._claim_for(step, "location")
        if found is None or found[1].location is None:
            return None
        return InputRoute(f"{found[0]}.location:{found[2]}", found[1].location)
