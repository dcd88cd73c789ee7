"""The application status machine: any sequence of requests keeps to the declared transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.applications import (
    TERMINAL_STATUSES,
    TRANSITIONS,
    ActorKind,
    Application,
    ApplicationStatus,
    new_application,
    next_statuses,
)
from bot.domain.errors import InvalidTransition

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
requests = st.lists(
    st.tuples(st.sampled_from(ApplicationStatus), st.sampled_from(ActorKind)), max_size=12
)


def fresh() -> Application:
    return new_application(
        application_id="a1",
        user_id=7,
        complex_code="fok-1",
        sport_code="swim",
        at=START,
        comment=None,
        applicant_name="Анна",
        applicant_phone="+79161234567",
    )


@given(requests)
def test_only_declared_transitions_happen_and_each_is_recorded_once(
    steps: list[tuple[ApplicationStatus, ActorKind]],
) -> None:
    application = fresh()
    for index, (target, actor) in enumerate(steps, start=1):
        at = START + timedelta(minutes=index)
        allowed = TRANSITIONS.get((application.status, target)) is actor
        assert (target in next_statuses(application.status, actor)) is allowed
        if not allowed:
            with pytest.raises(InvalidTransition):
                application.transition(target, actor_id=1, actor_kind=actor, at=at)
            continue
        before = application
        application = application.transition(target, actor_id=1, actor_kind=actor, at=at)
        assert application.version == before.version + 1
        change = application.history[-1]
        assert (change.from_status, change.to_status, change.actor_kind) == (
            before.status,
            target,
            actor,
        )
        assert application.updated_at == at
    # The history replays to the current status, from the applicant's own first step.
    assert application.history[0].to_status is ApplicationStatus.PENDING
    assert application.history[-1].to_status is application.status
    for earlier, later in zip(application.history, application.history[1:], strict=False):
        assert later.from_status is earlier.to_status


@given(st.sampled_from(sorted(TERMINAL_STATUSES)), st.sampled_from(ActorKind))
def test_a_finished_application_moves_no_further(
    status: ApplicationStatus, actor: ActorKind
) -> None:
    assert next_statuses(status, actor) == []


def test_the_applicant_can_only_cancel() -> None:
    targets = {to for (_, to), who in TRANSITIONS.items() if who is ActorKind.APPLICANT}
    assert targets == {ApplicationStatus.CANCELLED}
