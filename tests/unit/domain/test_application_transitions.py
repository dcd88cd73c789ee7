"""Every (from, to, actor) combination: the legal ones move, all others are refused."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from bot.domain.applications import (
    ActorKind,
    ApplicationStatus,
    new_application,
)
from bot.domain.errors import InvalidTransition, ValidationFailed

S = ApplicationStatus
STAFF, APPLICANT = ActorKind.STAFF, ActorKind.APPLICANT

# Design §1, written out independently of the implementation's table.
LEGAL = {
    (S.PENDING, S.ACCEPTED, STAFF),
    (S.PENDING, S.REJECTED, STAFF),
    (S.ACCEPTED, S.TRANSFERRED, STAFF),
    (S.ACCEPTED, S.REJECTED, STAFF),
    (S.TRANSFERRED, S.COMPLETED, STAFF),
    (S.PENDING, S.CANCELLED, APPLICANT),
    (S.ACCEPTED, S.CANCELLED, APPLICANT),
}
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def application_in(status: ApplicationStatus):  # type: ignore[no-untyped-def]
    """An application brought to ``status`` by legal steps only."""
    app = new_application(
        application_id="a" * 24,
        user_id=1,
        complex_code="c",
        sport_code="s",
        at=T0,
        comment=None,
        applicant_name="Анна",
        applicant_phone="+79161234567",
    )
    path = {
        S.PENDING: [],
        S.ACCEPTED: [(S.ACCEPTED, STAFF)],
        S.TRANSFERRED: [(S.ACCEPTED, STAFF), (S.TRANSFERRED, STAFF)],
        S.COMPLETED: [(S.ACCEPTED, STAFF), (S.TRANSFERRED, STAFF), (S.COMPLETED, STAFF)],
        S.CANCELLED: [(S.CANCELLED, APPLICANT)],
        S.REJECTED: [(S.REJECTED, STAFF)],
    }[status]
    for target, actor in path:
        app = app.transition(target, actor_id=9, actor_kind=actor, at=T0)
    assert app.status is status
    return app


ALL = list(itertools.product(list(S), list(S), list(ActorKind)))


@pytest.mark.parametrize(("current", "target", "actor"), ALL)
def test_transition_table(current: S, target: S, actor: ActorKind) -> None:
    app = application_in(current)
    if (current, target, actor) in LEGAL:
        moved = app.transition(target, actor_id=42, actor_kind=actor, at=T1, comment=" ok ")
        assert moved.status is target
        last = moved.history[-1]
        assert (last.from_status, last.to_status, last.actor_id, last.actor_kind, last.at) == (
            current,
            target,
            42,
            actor,
            T1,
        )
        assert last.comment == "ok"
        assert moved.version == app.version + 1
        assert moved.updated_at == T1
    else:
        with pytest.raises(InvalidTransition):
            app.transition(target, actor_id=42, actor_kind=actor, at=T1)


def test_legal_set_size_matches_design() -> None:
    legal = [c for c in ALL if c in LEGAL]
    assert len(legal) == 7
    assert len(ALL) - len(legal) == 6 * 6 * 2 - 7


def test_terminal_statuses_have_no_way_out() -> None:
    for status in (S.COMPLETED, S.CANCELLED, S.REJECTED):
        app = application_in(status)
        assert not app.is_active
        for target, actor in itertools.product(list(S), list(ActorKind)):
            with pytest.raises(InvalidTransition):
                app.transition(target, actor_id=1, actor_kind=actor, at=T1)


def test_comment_is_bounded() -> None:
    app = application_in(S.PENDING)
    with pytest.raises(ValidationFailed):
        app.transition(S.ACCEPTED, actor_id=1, actor_kind=STAFF, at=T1, comment="x" * 501)
