"""Broadcasts: staff compose, preview, confirm and cancel them; workers fan them out.

Who may write to whom is decided here, on every step (a button drawn yesterday proves nothing):
only admins and super admins write to everyone; a manager writes to the residents of their own
complexes, of a sport at their complexes, or of a session at one of them. A broadcast is seen and
cancelled by its author and by admins. Every change is written to the audit log.

The fan-out (:class:`BroadcastFanout`, run by the ``fok.broadcasts`` task) takes the broadcast
queued first — broadcasts run one after another, they share one send budget anyway — holding a
lease on it that it renews while it runs; a runner that dies simply stops renewing, and the next
run takes over: records the dead runner had only claimed go back to pending, those it may have
been sending become ``unconfirmed`` and are never sent again on their own (``bot.domain.
broadcasts``). Each send waits for the cluster-wide outbound budget; the author's progress
message is edited at most every ``FanoutPolicy.progress_every``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.domain.broadcasts import (
    FINAL_STATES,
    OPEN_STATES,
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastCounts,
    BroadcastState,
    Recipient,
    RecipientState,
    TextEntity,
    compose_text,
)
from bot.domain.catalog import Complex, Sport
from bot.domain.errors import NotFound, PermissionDenied, StaleAction
from bot.domain.ids import new_id
from bot.domain.paging import Page, PageRequest, clamp_page
from bot.domain.sessions import Session
from bot.domain.users import User
from bot.services.ports.broadcasts import (
    BroadcastAudiences,
    BroadcastRepository,
    BroadcastSender,
    SendOutcome,
    SendResult,
)
from bot.services.ports.repositories import (
    AuditRepository,
    CatalogRepository,
    SessionRepository,
    UserRepository,
)
from bot.services.ports.system import Clock
from bot.services.staff_guard import StaffAudit, staff_member

log = logging.getLogger(__name__)
KIND = "broadcast"
SESSION_DAYS_AHEAD = 14
REFERENCE_LENGTH = 6


def reference(code: str) -> str:
    """A short stable reference of a complex or sport code, for buttons (codes may be long)."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()[:REFERENCE_LENGTH]


@dataclass(frozen=True)
class AudienceOptions:
    """What a staff member may write to: everyone (admins), and these complexes and sports."""

    everyone: bool
    complexes: tuple[Complex, ...]
    sports: tuple[Sport, ...]


@dataclass(frozen=True)
class AudiencePreview:
    audience: Audience
    recipients: int


@dataclass(frozen=True)
class BroadcastCard:
    broadcast: Broadcast
    counts: BroadcastCounts
    author: User | None = None


def _snapshot(broadcast: Broadcast) -> dict[str, object]:
    return {
        "state": broadcast.state.value,
        "audience": broadcast.audience.kind.value,
        "code": broadcast.audience.code,
        "recipients": broadcast.estimated,
        "text": broadcast.excerpt,
    }


class BroadcastService:
    def __init__(
        self,
        broadcasts: BroadcastRepository,
        audiences: BroadcastAudiences,
        users: UserRepository,
        catalog: CatalogRepository,
        sessions: SessionRepository,
        audit: AuditRepository,
        clock: Clock,
    ) -> None:
        self._broadcasts = broadcasts
        self._audiences = audiences
        self._users = users
        self._catalog = catalog
        self._sessions = sessions
        self._audit = StaffAudit(audit, clock)
        self._clock = clock

    # --- choosing the audience --------------------------------------------------------------

    async def options(self, actor_id: int) -> AudienceOptions:
        actor = await staff_member(self._users, actor_id)
        complexes = tuple(
            c for c in await self._catalog.list_complexes() if actor.can_manage_complex(c.code)
        )
        offered = {code for c in complexes for code in c.sports}
        sports = tuple(s for s in await self._catalog.list_sports() if s.code in offered)
        return AudienceOptions(actor.manages_all_complexes, complexes, sports)

    async def complex_sessions(
        self, actor_id: int, complex_ref: str, page: PageRequest
    ) -> tuple[Complex, Page[Session]]:
        """The coming sessions (not cancelled) of the complex ``complex_ref`` names, to write to
        the people of one."""
        actor = await staff_member(self._users, actor_id)
        complex_ = await self._complex(actor, await self._complex_code(complex_ref))
        now = self._clock.now()
        found = [
            s
            for s in await self._sessions.list_for_complex(
                complex_.code, now, now + timedelta(days=SESSION_DAYS_AHEAD)
            )
            if not s.cancelled
        ]
        request = clamp_page(page, len(found))
        items = found[request.offset : request.offset + request.size]
        return complex_, Page(items, request.page, request.size, len(found))

    async def audience(self, actor_id: int, kind: AudienceKind, key: str | None) -> AudiencePreview:
        """The audience as this staff member may write to it, and its size. ``key``: for a complex
        or a sport its :func:`reference`, for a session its id, for everyone None."""
        actor = await staff_member(self._users, actor_id)
        if kind is AudienceKind.COMPLEX and key is not None:
            key = await self._complex_code(key)
        elif kind is AudienceKind.SPORT and key is not None:
            key = await self._sport_code(key)
        audience = await self._resolve(actor, kind, key)
        recipients = await self._audiences.user_ids(audience, self._clock.now())
        return AudiencePreview(audience, len(recipients))

    # --- composing and confirming -----------------------------------------------------------

    async def compose(
        self,
        actor_id: int,
        audience: Audience,
        raw_text: str,
        entities: Sequence[TextEntity] = (),
        *,
        draft_id: str | None = None,
    ) -> Broadcast:
        """A draft of ``raw_text`` to ``audience`` (a new one, or ``draft_id``'s text replaced)."""
        actor = await staff_member(self._users, actor_id)
        await self._authorise(actor, audience)
        text = compose_text(raw_text, entities)
        now = self._clock.now()
        estimated = len(await self._audiences.user_ids(audience, now))
        if draft_id is not None:
            draft = await self._own_draft(actor, draft_id)
            if draft.audience != audience:
                raise StaleAction("the draft is for another audience")
            updated = await self._broadcasts.update_draft(
                draft.id, text=text.text, html=text.html, estimated=estimated, now=now
            )
            if updated is None:
                raise StaleAction("the broadcast is no longer a draft")
            await self._audit.record(
                actor.telegram_id,
                "broadcast.edited",
                KIND,
                draft.id,
                before=_snapshot(draft),
                after=_snapshot(updated),
            )
            return updated
        broadcast = Broadcast(
            id=new_id(),
            author_id=actor.telegram_id,
            audience=audience,
            text=text.text,
            html=text.html,
            state=BroadcastState.DRAFT,
            created_at=now,
            updated_at=now,
            estimated=estimated,
        )
        await self._broadcasts.insert(broadcast)
        await self._audit.record(
            actor.telegram_id,
            "broadcast.draft",
            KIND,
            broadcast.id,
            before=None,
            after=_snapshot(broadcast),
        )
        return broadcast

    async def draft(self, actor_id: int, broadcast_id: str) -> Broadcast:
        """The author's own draft (for editing its text)."""
        actor = await staff_member(self._users, actor_id)
        return await self._own_draft(actor, broadcast_id)

    async def confirm(
        self, actor_id: int, broadcast_id: str, chat_id: int, message_id: int
    ) -> Broadcast:
        """Queue the author's draft; ``(chat_id, message_id)`` is the progress message. Pressing
        «Отправить» twice queues it once."""
        actor = await staff_member(self._users, actor_id)
        broadcast = await self._own(actor, broadcast_id, author_only=True)
        if broadcast.state is not BroadcastState.DRAFT:
            if broadcast.state in OPEN_STATES or broadcast.state is BroadcastState.DONE:
                return broadcast  # already sent on its way by this very button
            raise StaleAction("the broadcast was cancelled")
        await self._authorise(actor, broadcast.audience)
        now = self._clock.now()
        queued = await self._broadcasts.move(
            broadcast.id,
            frozenset({BroadcastState.DRAFT}),
            BroadcastState.QUEUED,
            now,
            sender=(chat_id, message_id),
        )
        if queued is None:
            again = await self._broadcasts.get(broadcast.id)
            if again is not None and again.state in OPEN_STATES:
                return again
            raise StaleAction("the broadcast is no longer a draft")
        await self._audit.record(
            actor.telegram_id,
            "broadcast.queued",
            KIND,
            broadcast.id,
            before=_snapshot(broadcast),
            after=_snapshot(queued),
        )
        return queued

    async def discard(self, actor_id: int, broadcast_id: str) -> Broadcast:
        """Drop the author's draft (it is kept, cancelled, for the audit log)."""
        actor = await staff_member(self._users, actor_id)
        broadcast = await self._own(actor, broadcast_id, author_only=True)
        if broadcast.state is BroadcastState.CANCELLED:
            return broadcast
        if broadcast.state is not BroadcastState.DRAFT:
            raise StaleAction("the broadcast has been sent on its way")
        discarded = await self._broadcasts.move(
            broadcast.id,
            frozenset({BroadcastState.DRAFT}),
            BroadcastState.CANCELLED,
            self._clock.now(),
            cancelled_by=actor.telegram_id,
        )
        if discarded is None:
            raise StaleAction("the broadcast is no longer a draft")
        await self._audit.record(
            actor.telegram_id,
            "broadcast.discarded",
            KIND,
            broadcast.id,
            before=_snapshot(broadcast),
            after=_snapshot(discarded),
        )
        return discarded

    async def cancel(self, actor_id: int, broadcast_id: str) -> BroadcastCard:
        """Stop a queued or running broadcast (its author or an admin); messages already sent
        stay. Cancelling one that has ended changes nothing."""
        actor = await staff_member(self._users, actor_id)
        broadcast = await self._own(actor, broadcast_id)
        if broadcast.state in FINAL_STATES:
            return await self._card(broadcast)
        if broadcast.state is BroadcastState.DRAFT:
            raise StaleAction("a draft is discarded, not cancelled")
        cancelled = await self._broadcasts.move(
            broadcast.id,
            OPEN_STATES,
            BroadcastState.CANCELLED,
            self._clock.now(),
            cancelled_by=actor.telegram_id,
        )
        if cancelled is None:  # it ended meanwhile
            again = await self._broadcasts.get(broadcast.id)
            return await self._card(again or broadcast)
        await self._audit.record(
            actor.telegram_id,
            "broadcast.cancelled",
            KIND,
            broadcast.id,
            before=_snapshot(broadcast),
            after=_snapshot(cancelled),
        )
        return await self._card(cancelled)

    async def resend_unconfirmed(self, actor_id: int, broadcast_id: str) -> BroadcastCard:
        """Send again to the recipients whose message is unconfirmed (a worker died while sending
        it): the author's choice, since some of them may have got it already."""
        actor = await staff_member(self._users, actor_id)
        broadcast = await self._own(actor, broadcast_id)
        if broadcast.state is not BroadcastState.DONE:
            raise StaleAction("only a finished broadcast is sent again")
        await self._authorise(actor, broadcast.audience)
        now = self._clock.now()
        # The records first: a runner taking the broadcast the moment it is queued again finds
        # them pending (the other way round it could find nothing to send and finish it).
        again = await self._broadcasts.requeue_unconfirmed(broadcast.id, now)
        reopened = await self._broadcasts.move(
            broadcast.id, frozenset({BroadcastState.DONE}), BroadcastState.QUEUED, now
        )
        if reopened is None:
            raise StaleAction("the broadcast changed meanwhile")
        await self._audit.record(
            actor.telegram_id,
            "broadcast.resent",
            KIND,
            broadcast.id,
            before=_snapshot(broadcast),
            after=_snapshot(reopened),
            recipients=again,
        )
        return await self._card(reopened)

    # --- looking back -----------------------------------------------------------------------

    async def recent(self, actor_id: int, page: PageRequest) -> Page[Broadcast]:
        """Broadcasts sent on their way: all of them for admins, a manager's own for them."""
        actor = await staff_member(self._users, actor_id)
        author = None if actor.manages_all_complexes else actor.telegram_id
        return await self._broadcasts.list_recent(author, page)

    async def card(self, actor_id: int, broadcast_id: str) -> BroadcastCard:
        """The broadcast with its counts and its author."""
        actor = await staff_member(self._users, actor_id)
        card = await self._card(await self._own(actor, broadcast_id))
        return replace(card, author=await self._users.get(card.broadcast.author_id))

    # --- rules ------------------------------------------------------------------------------

    async def _card(self, broadcast: Broadcast) -> BroadcastCard:
        counts = await self._broadcasts.counts(broadcast.id)
        return BroadcastCard(broadcast, counts)

    async def _own(self, actor: User, broadcast_id: str, *, author_only: bool = False) -> Broadcast:
        """The broadcast, if the actor wrote it or (``author_only`` aside) is an admin."""
        broadcast = await self._broadcasts.get(broadcast_id)
        if broadcast is None:
            raise NotFound(f"broadcast {broadcast_id}")
        if broadcast.author_id == actor.telegram_id:
            return broadcast
        if author_only or not actor.manages_all_complexes:
            raise PermissionDenied("another staff member's broadcast")
        return broadcast

    async def _own_draft(self, actor: User, broadcast_id: str) -> Broadcast:
        broadcast = await self._own(actor, broadcast_id, author_only=True)
        if broadcast.state is not BroadcastState.DRAFT:
            raise StaleAction("the broadcast is no longer a draft")
        return broadcast

    async def _complex_code(self, ref: str) -> str:
        for complex_ in await self._catalog.list_complexes():
            if reference(complex_.code) == ref:
                return complex_.code
        raise NotFound(f"complex {ref}")

    async def _sport_code(self, ref: str) -> str:
        for sport in await self._catalog.list_sports():
            if reference(sport.code) == ref:
                return sport.code
        raise NotFound(f"sport {ref}")

    async def _complex(self, actor: User, code: str) -> Complex:
        complex_ = await self._catalog.get_complex(code)
        if complex_ is None or not complex_.active:
            raise NotFound(f"complex {code}")
        if not actor.can_manage_complex(code):
            raise PermissionDenied("complex outside the staff member's scope")
        return complex_

    async def _resolve(self, actor: User, kind: AudienceKind, code: str | None) -> Audience:
        if kind is AudienceKind.ALL:
            audience = Audience(AudienceKind.ALL)
        elif code is None:
            raise NotFound("an audience without its complex, sport or session")
        elif kind is AudienceKind.COMPLEX:
            complex_ = await self._complex(actor, code)
            audience = Audience(AudienceKind.COMPLEX, complex_.code, complex_code=complex_.code)
        elif kind is AudienceKind.SPORT:
            sport = await self._catalog.get_sport(code)
            if sport is None or not sport.active:
                raise NotFound(f"sport {code}")
            scope: frozenset[str] | None = None
            if not actor.manages_all_complexes:
                offering = {
                    c.code
                    for c in await self._catalog.list_complexes()
                    if c.offers(code) and actor.can_manage_complex(c.code)
                }
                if not offering:
                    raise PermissionDenied("no complex of the manager offers the sport")
                scope = frozenset(offering)
            audience = Audience(AudienceKind.SPORT, sport.code, complexes=scope)
        else:
            session = await self._sessions.get(code)
            if session is None:
                raise NotFound(f"session {code}")
            if not actor.can_manage_complex(session.complex_code):
                raise PermissionDenied("session outside the staff member's scope")
            audience = Audience(AudienceKind.SESSION, session.id, complex_code=session.complex_code)
        await self._authorise(actor, audience)
        return audience

    @staticmethod
    async def _authorise(actor: User, audience: Audience) -> None:
        """Whether ``actor`` may write to ``audience`` now (roles change between steps)."""
        if audience.kind is AudienceKind.ALL:
            allowed = actor.manages_all_complexes
        elif audience.kind is AudienceKind.SPORT:
            allowed = actor.manages_all_complexes or (
                audience.complexes is not None
                and bool(audience.complexes)
                and all(actor.can_manage_complex(code) for code in audience.complexes)
            )
        else:
            allowed = audience.complex_code is not None and actor.can_manage_complex(
                audience.complex_code
            )
        if not allowed:
            raise PermissionDenied("audience outside the staff member's scope")


# --- the fan-out -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FanoutPolicy:
    """How a broadcast is fanned out (settings ``BROADCAST_*``)."""

    lease: timedelta = timedelta(seconds=30)
    batch: int = 50
    concurrency: int = 4
    progress_every: timedelta = timedelta(seconds=3)
    retry_initial: timedelta = timedelta(seconds=5)
    retry_max: timedelta = timedelta(minutes=5)
    max_attempts: int = 8

    def __post_init__(self) -> None:
        if self.batch < 1 or self.concurrency < 1 or self.max_attempts < 1:
            raise ValueError("batch, concurrency and attempts must be positive")

    def retry_delay(self, attempts: int, retry_after_s: float | None) -> timedelta:
        delay: timedelta = min(self.retry_max, self.retry_initial * 2 ** min(attempts, 20))
        if retry_after_s is not None:
            delay = max(delay, timedelta(seconds=retry_after_s))
        return delay


@dataclass
class FanoutReport:
    broadcast_id: str | None = None
    delivered: int = 0
    blocked: int = 0
    failed: int = 0
    skipped: int = 0
    unconfirmed: int = 0
    retried: int = 0
    requeued: int = 0  # claimed by a runner that died: pending again
    recovered_unconfirmed: int = 0  # being sent by a runner that died
    finished: bool = False
    finals_shown: int = 0

    def counts(self) -> dict[str, int | str | bool | None]:
        return {
            "broadcast": self.broadcast_id,
            "delivered": self.delivered,
            "blocked": self.blocked,
            "failed": self.failed,
            "skipped": self.skipped,
            "unconfirmed": self.unconfirmed,
            "retried": self.retried,
            "requeued": self.requeued,
            "recovered_unconfirmed": self.recovered_unconfirmed,
            "finished": self.finished,
            "finals_shown": self.finals_shown,
        }


def _builtin_transient(error: BaseException) -> bool:
    return isinstance(error, ConnectionError | TimeoutError)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]


@dataclass
class _Run:
    broadcast: Broadcast
    runner: str
    until: datetime
    report: FanoutReport
    stop: asyncio.Event = field(default_factory=asyncio.Event)


class BroadcastFanout:
    def __init__(
        self,
        broadcasts: BroadcastRepository,
        audiences: BroadcastAudiences,
        users: UserRepository,
        sender: BroadcastSender,
        clock: Clock,
        *,
        policy: FanoutPolicy | None = None,
        name: str = "runner",
        is_transient: Callable[[BaseException], bool] = _builtin_transient,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._broadcasts = broadcasts
        self._audiences = audiences
        self._users = users
        self._sender = sender
        self._clock = clock
        self._policy = policy or FanoutPolicy()
        self._name = name
        self._is_transient = is_transient
        self._sleep = sleep  # between retries (tests move their clock instead)

    @property
    def policy(self) -> FanoutPolicy:
        return self._policy

    async def run(self, *, until: datetime) -> FanoutReport:
        """Show the final counts of broadcasts that ended, then fan out the broadcast at the head
        of the queue until it ends, is cancelled, or ``until`` (the next run goes on)."""
        report = FanoutReport()
        for ended in await self._broadcasts.unreported(10):
            await self._show_final(ended)
            report.finals_shown += 1
        head = await self._broadcasts.head()
        if head is None:
            return report
        runner = f"{self._name}:{new_id()[:8]}"
        now = self._clock.now()
        if not await self._broadcasts.take(head.id, runner, now, now + self._policy.lease):
            return report  # another runner has it
        report.broadcast_id = head.id
        run = _Run(head, runner, until, report)
        try:
            await self._fan_out(run)
        finally:
            if not report.finished:
                await self._broadcasts.release(head.id, runner, self._clock.now())
        return report

    # --- one broadcast ----------------------------------------------------------------------

    async def _fan_out(self, run: _Run) -> None:
        repo, bid = self._broadcasts, run.broadcast.id
        run.report.requeued, run.report.recovered_unconfirmed = await repo.recover(bid, run.runner)
        if run.report.recovered_unconfirmed:
            log.warning(
                "broadcast %s: %d messages a dead runner was sending are unconfirmed",
                bid,
                run.report.recovered_unconfirmed,
            )
        if not run.broadcast.expanded:
            user_ids = await self._audiences.user_ids(run.broadcast.audience, self._clock.now())
            await repo.add_recipients(bid, user_ids)
            await repo.mark_expanded(bid)
        while True:
            current = await repo.renew(bid, run.runner, self._clock.now() + self._policy.lease)
            if current is None:
                log.warning("broadcast %s: lease lost to another runner; stopping", bid)
                return
            run.broadcast = current
            if current.state is BroadcastState.CANCELLED:
                await self._show_final(current)
                run.report.finished = True
                return
            now = self._clock.now()
            if now >= run.until:
                await self._show_progress(current, force=True)
                return
            batch = await repo.claim(bid, run.runner, now, self._policy.batch)
            if not batch:
                if (await repo.counts(bid)).unsettled == 0:
                    done = await repo.finish(bid, run.runner, self._clock.now())
                    if done is not None:
                        await self._show_final(done)
                        run.report.finished = True
                    return
                await self._wait_for_retries(run)
                continue
            await self._send_batch(run, batch)
            await self._show_progress(run.broadcast)

    async def _wait_for_retries(self, run: _Run) -> None:
        due = await self._broadcasts.next_due(run.broadcast.id)
        now = self._clock.now()
        wait = (due - now).total_seconds() if due is not None else 1.0
        await self._sleep(max(0.05, min(wait, 1.0, (run.until - now).total_seconds())))

    async def _send_batch(self, run: _Run, batch: list[Recipient]) -> None:
        reachable = await self._audiences.reachable([r.user_id for r in batch])
        waiting = list(batch)

        async def sender() -> None:
            # The records not started when the run ends stay claimed: the next run requeues them.
            while waiting and not run.stop.is_set() and self._clock.now() < run.until:
                await self._deliver(run, waiting.pop(0), reachable)

        keeper = asyncio.ensure_future(self._keep_lease(run))
        try:
            await asyncio.gather(
                *(sender() for _ in range(min(self._policy.concurrency, len(batch))))
            )
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)

    async def _keep_lease(self, run: _Run) -> None:
        """While a batch is sent: renew the lease every third of it; stop the batch when the
        broadcast is cancelled or another runner has it."""
        period = max(self._policy.lease.total_seconds() / 3, 0.01)
        while True:
            await asyncio.sleep(period)
            try:
                current = await self._broadcasts.renew(
                    run.broadcast.id, run.runner, self._clock.now() + self._policy.lease
                )
            except Exception:
                log.warning("renewing a broadcast lease failed; going on", exc_info=True)
                continue
            if current is None or current.state is BroadcastState.CANCELLED:
                run.stop.set()
                return

    async def _deliver(self, run: _Run, recipient: Recipient, reachable: set[int]) -> None:
        repo, bid, uid = self._broadcasts, run.broadcast.id, recipient.user_id
        report = run.report
        if uid not in reachable:
            await repo.settle(bid, uid, run.runner, RecipientState.SKIPPED, self._clock.now())
            report.skipped += 1
            return
        try:
            outcome = await self._sender.send(
                run.broadcast, uid, dispatch=lambda: repo.dispatching(bid, uid, run.runner)
            )
        except Exception as error:
            if self._is_transient(error):
                log.warning("broadcast %s to %s: transient failure: %s", bid, uid, error)
                outcome = SendOutcome(SendResult.RETRY, _describe(error))
            else:
                log.exception("broadcast %s to %s could not be sent", bid, uid)
                outcome = SendOutcome(SendResult.FAILED, _describe(error))
        now = self._clock.now()
        match outcome.result:
            case SendResult.SENT:
                await repo.settle(bid, uid, run.runner, RecipientState.DELIVERED, now)
                report.delivered += 1
            case SendResult.BLOCKED:
                await repo.settle(
                    bid, uid, run.runner, RecipientState.BLOCKED, now, error=outcome.error
                )
                await self._users.set_unreachable(uid, True)
                report.blocked += 1
            case SendResult.UNCONFIRMED:
                await repo.settle(
                    bid, uid, run.runner, RecipientState.UNCONFIRMED, now, error=outcome.error
                )
                report.unconfirmed += 1
            case SendResult.RETRY if recipient.attempts + 1 < self._policy.max_attempts:
                delay = self._policy.retry_delay(recipient.attempts, outcome.retry_after_s)
                await repo.retry_later(
                    bid, uid, run.runner, now + delay, outcome.error or "not sent"
                )
                report.retried += 1
            case SendResult.RETRY | SendResult.FAILED:
                await repo.settle(
                    bid, uid, run.runner, RecipientState.FAILED, now, error=outcome.error
                )
                report.failed += 1
            case SendResult.NOT_OURS:
                pass

    # --- the author's progress message ------------------------------------------------------

    async def _show_progress(self, broadcast: Broadcast, *, force: bool = False) -> None:
        if broadcast.sender_message_id is None or broadcast.final_shown:
            return
        now = self._clock.now()
        if (
            not force
            and broadcast.progress_at is not None
            and now - broadcast.progress_at < self._policy.progress_every
        ):
            return
        counts = await self._broadcasts.counts(broadcast.id)
        running = replace(broadcast, counts=counts)
        try:
            alive = await self._sender.show_progress(running, counts)
        except Exception:
            log.warning(
                "broadcast %s: the progress could not be shown", broadcast.id, exc_info=True
            )
            alive = True  # tried again at the next interval
        await self._broadcasts.shown(broadcast.id, counts, now, final=not alive)

    async def _show_final(self, broadcast: Broadcast) -> None:
        counts = await self._broadcasts.counts(broadcast.id)
        if broadcast.sender_message_id is not None:
            try:
                await self._sender.show_progress(replace(broadcast, counts=counts), counts)
            except Exception:
                log.warning("broadcast %s: the final counts could not be shown", broadcast.id)
                return  # shown by a later run
        await self._broadcasts.shown(broadcast.id, counts, self._clock.now(), final=True)
