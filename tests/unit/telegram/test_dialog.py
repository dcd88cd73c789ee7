"""Dialog helpers: a write based on a stale read is re-applied to the fresh state, not lost."""

from __future__ import annotations

from typing import Any

from bot.services.ports.ephemeral import DialogState
from bot.telegram import dialog
from tests.fakes.ephemeral import InMemoryDialogStateStore


class RacingStore(InMemoryDialogStateStore):
    """Another instance writes once between our read and our first write."""

    def __init__(self) -> None:
        super().__init__()
        self.raced = False

    async def set_if_version(
        self, chat_id: int, user_id: int, step: str, data: dict[str, Any], expected_version: int
    ) -> DialogState:
        if not self.raced:
            self.raced = True
            current = await self.get(chat_id, user_id)
            version = current.version if current else 0
            await super().set_if_version(
                chat_id, user_id, "other", {dialog.SEARCH_SPORTS: ["chess"]}, version
            )
        return await super().set_if_version(chat_id, user_id, step, data, expected_version)


async def test_change_retries_on_a_version_conflict() -> None:
    store = RacingStore()

    def add_boxing(state: DialogState) -> tuple[str, dict[str, Any]]:
        picked = list(state.data.get(dialog.SEARCH_SPORTS) or [])
        return state.step, {dialog.SEARCH_SPORTS: [*picked, "boxing"]}

    result = await dialog.change(store, 1, 1, add_boxing)
    assert result.data[dialog.SEARCH_SPORTS] == ["chess", "boxing"]
    assert result.version == 2


async def test_enter_keeps_search_picks_and_drops_step_data() -> None:
    store = InMemoryDialogStateStore()
    await dialog.enter(
        store, 1, 2, dialog.APPLY_COMMENT, {"complex": "c", dialog.SEARCH_SPORTS: ["yoga"]}
    )
    state = await dialog.leave(store, 1, 2)
    assert state.step == dialog.IDLE
    assert state.data == {dialog.SEARCH_SPORTS: ["yoga"]}
    assert (await dialog.load(store, 9, 9)).version == 0
