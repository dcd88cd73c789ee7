"""A bot instance whose gunicorn master is SIGKILLed alone does not leave its workers serving.

An operator's `kill -9` of the master, or the OOM killer choosing it, used to leave the uvicorn
workers answering on the port with no master to restart or stop them: HAProxy kept the orphan in
rotation and nothing supervised it. The workers now ask the kernel for SIGTERM when their master
dies (bot/web/gunicorn_conf.py post_fork) and drain and exit as on a normal stop.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from devcluster.ports import LOOPBACK, is_listening
from devcluster.process import pid_is_alive
from tests.e2e.conftest import BotStack, StackOptions

pytestmark = pytest.mark.e2e


def children_of(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    found: list[int] = []
    for task in tasks.iterdir():
        children = (task / "children").read_text().split()
        found.extend(int(child) for child in children)
    return found


@pytest.mark.parametrize("bot_stack", [StackOptions(instances=1, workers=2)], indirect=True)
async def test_workers_exit_when_their_master_is_killed(bot_stack: BotStack) -> None:
    instance = bot_stack.instances[0]
    master = instance.pid
    assert master is not None
    workers = children_of(master)
    assert len(workers) == 2, workers
    user = await bot_stack.client.create_user("Анна")
    await bot_stack.client.send_text(user["id"], "/start")
    await bot_stack.client.wait_for(user["id"], 1)

    os.kill(master, signal.SIGKILL)  # the master only; its workers are left to themselves

    async def all_gone() -> bool:
        return not any(pid_is_alive(worker) for worker in workers) and not is_listening(
            LOOPBACK, instance.port
        )

    for _ in range(600):  # the workers drain (WEB_DRAIN_SECONDS=5 here) and exit
        if await all_gone():
            break
        await asyncio.sleep(0.1)
    alive = [worker for worker in workers if pid_is_alive(worker)]
    assert not alive, f"workers {alive} still running after their master was killed"
    assert not is_listening(LOOPBACK, instance.port)
