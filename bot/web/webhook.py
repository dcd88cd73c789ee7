"""The webhook endpoint: authenticate, bound, parse, de-duplicate, process inside the request.

Status codes (design §4 rule 2: non-2xx only for faults a retry can cure, because Telegram
retries every non-2xx answer for a long time):

=====  ==================================================================================
200    processed (its body may carry one Bot API call for Telegram to run:
       ``bot.infra.telegram.webhook_reply``); or already processed (``done``); or malformed / not an update / an update
       type the bot does not handle / a field of a type or size Telegram never sends
       (``bot.web.shape``; logged and dropped before anything is claimed or written: a retry
       would fail the same way)
401    no ``X-Telegram-Bot-Api-Secret-Token`` header (not Telegram)
403    wrong secret token (not Telegram)
413    body larger than ``WEB_MAX_BODY_BYTES`` (read with a cap, Content-Length not trusted)
503    transient: another process is working on this update right now, this process is at
       its in-flight limit, Redis/MongoDB/the Bot API failed, or the update ran out of time;
       ``Retry-After`` is set and the processing mark is released so a retry can take over
=====  ==================================================================================
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.infra import metrics
from bot.infra.faults import is_transient
from bot.infra.logs import bind, clear
from bot.services.ports.ephemeral import DedupClaim, DedupState, FloodVerdict
from bot.web.pipeline import UpdatePipeline, update_deadline_s
from bot.web.shape import problem

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
RETRY_AFTER_S = 1
# How long a request may wait for a free in-flight slot before it is sent back with 503. Short:
# Telegram holds at most max_connections requests open, so a full process is rarely a blip.
ADMISSION_WAIT_S = 0.5
UPDATE_TYPES = frozenset(metrics.KNOWN_UPDATE_TYPES)


@dataclass(frozen=True)
class ParsedUpdate:
    payload: dict[str, Any]
    update_id: int
    update_type: str | None  # None: an update kind this bot does not know
    # Why no handler may see it (bot.web.shape: a path and a reason, never a value), or None.
    malformed: str | None = None

    def flood_counted_sender(self) -> int | None:
        """The sender the gate would count against the flood budget, or None: an update with a
        chat and a human sender, not a membership change (handled ahead of the gate)."""
        if self.update_type == "my_chat_member":
            return None
        chat_id, user_id = self.chat_and_user()
        body = self.payload.get(self.update_type or "")
        sender = body.get("from") if isinstance(body, dict) else None
        if chat_id is None or user_id is None or not isinstance(sender, dict):
            return None
        return None if sender.get("is_bot") is not False else user_id

    def chat_and_user(self) -> tuple[int | None, int | None]:
        """For log correlation only (the same fields HAProxy pins a chat by)."""
        body = self.payload.get(self.update_type or "")
        if not isinstance(body, dict):
            return None, None
        sender = body.get("from") or body.get("user") or {}
        chat = body.get("chat") or (body.get("message") or {}).get("chat") or {}
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        user_id = sender.get("id") if isinstance(sender, dict) else None
        return (
            chat_id if isinstance(chat_id, int) else None,
            user_id if isinstance(user_id, int) else None,
        )


class TooLarge(Exception):
    pass


def parse_update(body: bytes) -> ParsedUpdate | None:
    """The update, or None when the body is not a JSON object with an integer ``update_id``.

    JSON's ``NaN`` and ``Infinity`` are refused (Telegram never sends them), and so is nesting
    deeper than Python's parser recurses (``RecursionError``).
    """
    try:
        payload: Any = json.loads(body, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(payload, dict):
        return None
    update_id = payload.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    kinds = [key for key in payload if key in UPDATE_TYPES]
    kind = kinds[0] if len(kinds) == 1 and isinstance(payload[kinds[0]], dict) else None
    return ParsedUpdate(payload, update_id, kind, problem(payload, kind))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_capped_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(code: int, *, retry: bool = False, call: dict[str, Any] | None = None) -> Response:
    """``call``: a Bot API method for Telegram to run, as the answer's JSON body."""
    metrics.WEBHOOK_REQUESTS.labels(code=str(code)).inc()
    if call is not None:
        return JSONResponse(call, status_code=code)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if retry else None
    return Response(status_code=code, headers=headers)


class WebhookEndpoint:
    """One per worker process; ``inflight`` is read by the drain at shutdown and by health."""

    def __init__(self, pipeline: UpdatePipeline) -> None:
        self._pipeline = pipeline
        settings = pipeline.settings
        self._secret = settings.telegram.webhook_secret.get_secret_value().encode("latin-1")
        self._max_body = settings.web.max_body_bytes
        self._deadline_s = update_deadline_s(settings)
        self._slots = asyncio.Semaphore(settings.limits.max_inflight_updates)
        self.inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no update is in flight; False if some still are after ``timeout_s``."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    def _authentic(self, request: Request) -> int | None:
        """None when authentic, else the status to answer."""
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return 401
        if not hmac.compare_digest(given.encode("latin-1", errors="replace"), self._secret):
            return 403
        return None

    async def __call__(self, request: Request) -> Response:
        refusal = self._authentic(request)
        if refusal is not None:
            log.warning("webhook call without a valid secret token", extra={"status": refusal})
            return _answer(refusal)
        try:
            body = await read_capped_body(request, self._max_body)
        except TooLarge:
            log.warning("webhook body over the size limit", extra={"limit": self._max_body})
            return _answer(413)
        update = parse_update(body)
        if update is None:
            log.warning("malformed webhook body dropped", extra={"size": len(body)})
            return _answer(200)
        if update.malformed is not None:
            log.warning(
                "malformed update dropped",
                extra={"update_id": update.update_id, "problem": update.malformed},
            )
            metrics.UPDATES.labels(type="other", handler="malformed").inc()
            return _answer(200)
        if update.update_type is None:
            log.info("unsupported update type dropped", extra={"update_id": update.update_id})
            metrics.UPDATES.labels(type="other", handler="unsupported").inc()
            return _answer(200)
        try:
            async with asyncio.timeout(ADMISSION_WAIT_S):
                await self._slots.acquire()
        except TimeoutError:
            log.warning("in-flight limit reached, update sent back", extra=_ids(update))
            return _answer(503, retry=True)
        self.inflight += 1
        self._idle.clear()
        metrics.INFLIGHT_UPDATES.inc()
        try:
            return await self._deduplicated(update)
        finally:
            self.inflight -= 1
            if not self.inflight:
                self._idle.set()
            metrics.INFLIGHT_UPDATES.dec()
            self._slots.release()
            clear()

    async def _deduplicated(self, update: ParsedUpdate) -> Response:
        chat_id, user_id = update.chat_and_user()
        bind(update_id=update.update_id, chat_id=chat_id, user_id=user_id)
        dedup = self._pipeline.dedup
        admission = self._pipeline.admission
        sender = update.flood_counted_sender()
        verdict: FloodVerdict | None = None
        try:
            if admission is not None and sender is not None:
                claim, verdict = await admission.begin_counted(update.update_id, sender)
            else:
                claim = await dedup.begin(update.update_id)
        except Exception:
            log.exception("update de-duplication unavailable")
            return _answer(503, retry=True)
        if claim.state is DedupState.DONE:
            metrics.UPDATE_DEDUP.labels(result="done").inc()
            return _answer(200)
        if claim.state is DedupState.IN_PROGRESS:
            metrics.UPDATE_DEDUP.labels(result="in_progress").inc()
            return _answer(503, retry=True)
        metrics.UPDATE_DEDUP.labels(result="new").inc()
        precounted = (sender, verdict) if sender is not None and verdict is not None else None
        return await self._process(update, claim, precounted)

    async def _process(
        self,
        update: ParsedUpdate,
        claim: DedupClaim,
        precounted: tuple[int, FloodVerdict] | None = None,
    ) -> Response:
        started = time.perf_counter()
        transient: BaseException | None = None
        handler = "unhandled"
        reply: dict[str, Any] | None = None
        try:
            async with asyncio.timeout(self._deadline_s):
                trace = await self._pipeline.process_update(update.payload, precounted)
            handler = trace.handler or "unhandled"
            transient = trace.transient_error
            reply = trace.webhook_reply
        except TimeoutError as error:
            transient = error
        except Exception as error:  # outside PTB's own error handling (e.g. Update.de_json)
            log.exception("update could not be processed", extra=_ids(update))
            if is_transient(error):
                transient = error
        metrics.UPDATES.labels(type=update.update_type or "other", handler=handler).inc()
        if transient is not None:
            log.warning(
                "transient failure, update handed back for a retry",
                extra={**_ids(update), "error": type(transient).__name__},
            )
            try:
                await self._pipeline.dedup.abort(claim)
            except Exception:
                log.exception("could not release the processing mark (it will expire)")
            return _answer(503, retry=True)
        try:
            await self._pipeline.dedup.finish(claim)
        except Exception:
            # Processed already: a 5xx would make Telegram deliver it again once the mark expires.
            log.exception("could not mark the update done", extra=_ids(update))
        # One line per processed update: the instance's access log for updates (chat, handler).
        log.info(
            "update processed",
            extra={
                **_ids(update),
                "handler": handler,
                "ms": round((time.perf_counter() - started) * 1e3, 2),
            },
        )
        return _answer(200, call=reply)


def _ids(update: ParsedUpdate) -> dict[str, Any]:
    return {"update_id": update.update_id, "update_type": update.update_type}
