"""The operator's commands in the bot's audit log: named by the OS login admin_tools recorded."""

from __future__ import annotations

from bot.domain.users import Role
from bot.infra.phones import PhoneNumbersNormalizer
from bot.services.operators import OperatorAudit
from bot.services.users import UserService
from tests.handlers.harness import BotHarness
from tests.handlers.staff.conftest import make_staff


async def test_an_operator_s_block_is_shown_with_their_login(harness: BotHarness) -> None:
    sofia = await make_staff(harness, "София", Role.SUPER_ADMIN)
    anna = await harness.resident("Анна")
    storage = harness.storage
    # What a CLI process wires (bot.bootstrap with operator=getpass.getuser()).
    operator_users = UserService(
        storage.users,
        storage.applications,
        storage.catalog,
        OperatorAudit(storage.audit, "ops-alice"),
        PhoneNumbersNormalizer(),
        harness.clock,
        bookings=storage.bookings,
        notifier=storage.outbox,
    )
    await operator_users.set_blocked(None, anna.id, True)
    await harness.services.users.set_role(None, sofia.id, Role.SUPER_ADMIN)  # no login: actor 0
    (blocked, role) = sorted(storage.audit.all(), key=lambda e: e.action)
    assert (blocked.actor_id, blocked.actor_name) == (0, "ops-alice")
    assert (role.actor_id, role.actor_name) == (0, None)

    panel = await sofia.say("/admin")
    log = await sofia.press(panel, "Журнал действий")
    assert "оператор ops-alice (admin_tools)\n⛔ блокировка" in log.text
    assert "оператор (admin_tools)\n🎖 роль" in log.text
