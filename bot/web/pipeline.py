"""The web tier's update pipeline: one update in, what happened out.

Built in the ASGI lifespan on top of the process opened by ``bot.bootstrap.open_process``.
``UpdatePipeline.process`` runs one update through the PTB application in the request's task and
returns an :class:`UpdateTrace`: which handler took it, how long it ran and whether it failed
transiently (the webhook then answers 5xx so Telegram retries). This is the only place that
decides transient versus permanent (through ``bot.infra.faults``), and handlers are timed through
PTB's own extension points: a ``TypeHandler`` in a group before the gate and one after the
features, plus the error handler, which PTB calls in the same task.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from telegram import Bot, Update
from telegram.ext import Application, ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.bootstrap import Process, ProcessRole, close_quietly, open_process
from bot.domain.users import Role
from bot.infra import metrics
from bot.infra.faults import is_transient
from bot.infra.health import DependencyStatus, check_all
from bot.infra.redis.dedup import RedisUpdateDeduplicator
from bot.infra.redis.flood import RedisFloodLimiter
from bot.infra.telegram.webhook_reply import webhook_reply_slot
from bot.infra.tracing import traced_update
from bot.services.container import Services
from bot.services.ports.ephemeral import (
    DedupClaim,
    FloodLimiter,
    FloodVerdict,
    UpdateDeduplicator,
)
from bot.settings import Settings

log = logging.getLogger(__name__)

PtbApplication = Application[Any, Any, Any, Any, Any, Any]
ApplicationFactory = Callable[[Services, Bot], PtbApplication]

# The processing mark outlives the longest an owner may work on an update by this margin, so a
# live owner always finishes or aborts before anyone else may take over.
DEDUP_MARK_MARGIN_S = 5.0
# What an update needs on its way (/ready); the broker is only on the detailed page.
READINESS = ("mongodb", "redis_cluster")
# PTB runs handler groups in ascending order; the product's gate is in -1, its features in 0.
BEFORE_GROUP = -1000
AFTER_GROUP = 1000
FEATURE_GROUP = 0


def update_deadline_s(settings: Settings) -> float:
    """The longest one update may be processed.

    Tied to ``WEB_DRAIN_SECONDS``: shutdown waits that long for in-flight updates, so an update
    allowed to run longer would be cut by a restart anyway. A dead owner's mark expires
    ``DEDUP_MARK_MARGIN_S`` later, which is how long a retry of its updates waits (503s).
    Every MongoDB operation is bounded below it (``MONGO_OPERATION_TIMEOUT_MS``, checked by the
    settings), so a slow database ends the update with a transient error first.
    """
    return settings.update_deadline_s


@dataclass
class UpdateTrace:
    """What happened to one update inside PTB."""

    handler: str | None = None
    started: float = field(default_factory=time.perf_counter)
    transient_error: BaseException | None = None
    error: BaseException | None = None
    # The sender and the flood verdict the webhook's claim already counted (used once).
    precounted: tuple[int, FloodVerdict] | None = None
    # A Bot API call for the webhook response (bot.infra.telegram.webhook_reply), or None.
    webhook_reply: dict[str, Any] | None = None


_current: contextvars.ContextVar[UpdateTrace | None] = contextvars.ContextVar(
    "fok_update_trace", default=None
)


class PrecountedFlood:
    """The gate's flood limiter in the web tier: the verdict of the update's own claim when the
    webhook counted it already (one Redis round trip for both), else the limiter's."""

    def __init__(self, limiter: FloodLimiter) -> None:
        self._limiter = limiter

    async def hit(self, user_id: int) -> FloodVerdict:
        trace = _current.get()
        if trace is not None and trace.precounted is not None:
            counted_for, verdict = trace.precounted
            trace.precounted = None
            if counted_for == user_id:
                return verdict
        return await self._limiter.hit(user_id)


class CountedAdmission(Protocol):
    async def begin_counted(
        self, update_id: int, sender_id: int
    ) -> tuple[DedupClaim, FloodVerdict | None]:
        """Claim the update and count it against its sender's flood budget in one call."""
        ...


def handler_name(callback: Callable[..., Any]) -> str:
    """A bounded label: the feature module and function that handle the update."""
    module = getattr(callback, "__module__", "") or ""
    qualname = getattr(callback, "__qualname__", type(callback).__name__)
    return f"{module.rsplit('.', 1)[-1]}.{qualname}" if module else qualname


def _taken_by(application: PtbApplication, update: object) -> BaseHandler[Any, Any, Any] | None:
    """The feature handler PTB chose for ``update``: the first of the group that accepts it."""
    for handler in application.handlers.get(FEATURE_GROUP, []):
        check = handler.check_update(update)
        if check is not None and check is not False:
            return handler
    return None


async def _before(update: object, context: Any) -> None:
    trace = _current.get()
    if trace is not None:
        trace.started = time.perf_counter()


async def _after(update: object, context: Any) -> None:
    trace = _current.get()
    if trace is None:
        return
    handler = _taken_by(context.application, update)
    # The router leaves the matched route's bounded label ("sessions.day") on the context.
    route = getattr(context, "route", None)
    if isinstance(route, str) and route:
        trace.handler = route
    else:
        trace.handler = handler_name(handler.callback) if handler is not None else "unhandled"
    metrics.HANDLER_DURATION.labels(handler=trace.handler).observe(
        time.perf_counter() - trace.started
    )


async def _classify(update: object, context: Any) -> None:
    """First error handler: a transient fault goes back to the webhook, nobody apologises."""
    error = context.error
    if error is None:
        return
    trace = _current.get()
    if trace is not None:
        trace.error = error
    if is_transient(error):
        if trace is not None:
            trace.transient_error = error
        else:
            log.warning("transient failure outside a webhook request", exc_info=error)
        raise ApplicationHandlerStop
    log.error("unhandled error while processing an update", exc_info=error)


def instrument(application: PtbApplication) -> None:
    """Hook timing and the single fault classification into a built PTB application.

    The classifier goes first among the error handlers; the product's own error handlers (an
    apology to the user) run after it, only for permanent errors.
    """
    application.add_handler(TypeHandler(Update, _before), group=BEFORE_GROUP)
    application.add_handler(TypeHandler(Update, _after), group=AFTER_GROUP)
    product = dict(application.error_handlers)
    application.error_handlers.clear()
    application.add_error_handler(_classify)
    for callback, block in product.items():
        application.add_error_handler(callback, block=block)


@dataclass
class UpdatePipeline:
    settings: Settings
    process: Process
    dedup: UpdateDeduplicator
    bot: Bot
    application: PtbApplication
    # Claims an update with a sender and counts their flood budget at once (None: ``dedup``
    # alone, and the gate counts).
    admission: CountedAdmission | None = None
    started_at: float = field(default_factory=time.time)
    closed: bool = False

    @property
    def instance_id(self) -> str:
        return self.settings.web.instance_id

    @property
    def services(self) -> Services:
        return self.process.services

    async def process_update(
        self, payload: dict[str, Any], precounted: tuple[int, FloodVerdict] | None = None
    ) -> UpdateTrace:
        """Run one update through PTB in this task; the trace says what happened.

        ``precounted``: the sender and the flood verdict the claim counted, for the gate.
        Handlers must run blocking (PTB's default): a non-blocking one would run in another task,
        outside this context variable.
        """
        trace = UpdateTrace(precounted=precounted)
        token = _current.set(trace)
        try:
            slot = webhook_reply_slot() if self.settings.web.answer_in_response else nullcontext()
            with traced_update() as span, slot as reply:
                await self.application.process_update(Update.de_json(payload, self.bot))
                span.handled_by(trace.handler)
            if reply is not None:
                trace.webhook_reply = reply.body()
        finally:
            _current.reset(token)
        return trace

    async def check_dependencies(self) -> list[DependencyStatus]:
        """Every dependency (the detailed health page)."""
        return await check_all(self.process.probes)

    async def check_readiness(self) -> list[DependencyStatus]:
        """Only what the webhook path needs (``/ready``): not the Celery broker, which no update
        waits for; a broker outage must not take every instance out of HAProxy."""
        probes = self.process.probes
        return await check_all({name: probes[name] for name in READINESS if name in probes})


async def _grant_super_admins(services: Services, ids: list[int]) -> None:
    """Idempotent: a super admin already in place is left alone (no audit entry per restart)."""
    for telegram_id in ids:
        user = await services.users.get(telegram_id)
        if user is not None and user.role is Role.SUPER_ADMIN:
            continue
        await services.users.set_role(None, telegram_id, Role.SUPER_ADMIN)
        log.info("granted super_admin from APP_SUPER_ADMIN_IDS", extra={"user_id": telegram_id})


def _product_application_factory() -> ApplicationFactory:
    # Imported on use: tests of the web tier inject a probe application instead.
    from bot.telegram.application import build_application

    return build_application


@asynccontextmanager
async def open_pipeline(
    settings: Settings, *, application_factory: ApplicationFactory | None = None
) -> AsyncIterator[UpdatePipeline]:
    """The web worker's process and its update pipeline, closed in reverse order on exit."""
    factory = application_factory or _product_application_factory()
    async with AsyncExitStack() as stack:
        process = await stack.enter_async_context(open_process(settings, ProcessRole.WEB))
        bot = process.require_bot()
        flood = process.services.flood
        services = replace(process.services, flood=PrecountedFlood(flood))
        application = factory(services, bot)
        instrument(application)
        await application.initialize()
        stack.push_async_callback(close_quietly("PTB application", application.shutdown))
        await _grant_super_admins(process.services, settings.app.super_admin_ids)
        dedup = RedisUpdateDeduplicator(
            process.require_redis(),
            processing_ttl_s=update_deadline_s(settings) + DEDUP_MARK_MARGIN_S,
            flood=flood if isinstance(flood, RedisFloodLimiter) else None,
        )
        log.info("update pipeline started", extra={"event": "runtime_started"})
        pipeline = UpdatePipeline(settings, process, dedup, bot, application, admission=dedup)
        stack.callback(setattr, pipeline, "closed", True)
        yield pipeline
