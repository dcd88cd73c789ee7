"""`python -m telegram_emulator` as a real process: flags, preset users, state across restarts."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from telegram_emulator.client import EmulatorClient
from tests.emulator.conftest import TOKEN, free_port


def spawn(port: int, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "telegram_emulator", "--port", str(port), "--token", TOKEN, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@asynccontextmanager
async def emulator_process(*args: str) -> AsyncIterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    process = spawn(port, *args)
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            deadline = time.monotonic() + 15
            while True:
                assert process.poll() is None, process.communicate()[0]
                try:
                    if (await http.get(f"{base_url}/bot{TOKEN}/getMe")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "emulator did not start"
                await asyncio.sleep(0.1)
        yield base_url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(process.wait, 10)


async def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    output, _ = await asyncio.to_thread(process.communicate, timeout=10)
    # uvicorn shuts down cleanly, then re-raises the signal it caught, as a process should.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert time.monotonic() - started < 5
    return output


async def test_cli_serves_presets_limits_and_keeps_state(tmp_path: Path) -> None:
    state_dir = str(tmp_path / "state")
    flags = ("--preset-user", "111:Admin:fok_admin", "--state-dir", state_dir, "--chat-burst", "2")
    async with emulator_process(*flags) as (base_url, process):
        async with EmulatorClient(base_url, TOKEN) as client, httpx.AsyncClient() as http:
            users = await client.users()
            assert users[0]["id"] == 111
            assert users[0]["username"] == "fok_admin"
            await client.send_text(111, "/admin")
            long_poll = asyncio.create_task(client.chat_state(111, since=10**6, wait_seconds=30))
            sent = []
            for text in ("one", "two", "three"):
                answer = await http.post(
                    f"{base_url}/bot{TOKEN}/sendMessage", json={"chat_id": 111, "text": text}
                )
                sent.append(answer.status_code)
            assert sent == [200, 200, 429]  # burst of 2, then the strict peer refuses
            output = await stop(process)  # must not wait for the 30 s long poll
            long_poll.cancel()
        assert TOKEN not in output  # the token is a secret: never printed
        assert "bots 123456" in output
    async with emulator_process("--state-dir", state_dir) as (base_url, process):
        async with EmulatorClient(base_url, TOKEN) as client:
            chat = await client.chat(111)
            assert [m["text"] for m in chat] == ["/admin", "one", "two"]
            newcomer = await client.create_user("Новый")
            assert newcomer["id"] != 111
        await stop(process)


async def test_cli_rejects_a_malformed_token() -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "telegram_emulator", "--port", "1", "--token", "not-a-token"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "<digits>:<secret>" in result.stderr
