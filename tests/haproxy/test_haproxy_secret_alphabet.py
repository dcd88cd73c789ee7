"""Every secret_token Telegram allows works in the edge's secret check.

Telegram's setWebhook takes a secret_token of 1-256 characters from A-Z a-z 0-9 _ -. The edge
puts it into an ACL as a pattern, and HAProxy reads an ACL word beginning with '-' as a flag:
"-x" makes the config invalid, while "-i" or "--" are silently taken as flags and leave the ACL
with no pattern, so every webhook call, the right one included, would be refused. The secrets
below are fixed (a seeded draw), so a failure always reproduces.
"""

from __future__ import annotations

import json
import random
import shutil
import string
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from devcluster.ports import free_ports
from tests.haproxy.edge_harness import (
    HAPROXY_CFG,
    EchoBackend,
    Edge,
    haproxy_env,
    update_for_chat,
    webhook_headers,
)

ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "_-"
MAX_LENGTH = 256

# Words HAProxy's ACL parser gives a meaning to, and other edge cases of the alphabet.
SPECIAL_SECRETS = [
    "-",
    "--",
    "---",
    "-i",
    "-m",
    "-f",
    "-M",
    "-n",
    "-u",
    "-m-str",
    "_",
    "_" * 64,
    "A",
    "-" * MAX_LENGTH,
    "_" * MAX_LENGTH,
    # longest allowed, starting with '-', holding every character of the alphabet
    ("-" + ALPHABET * 5)[:MAX_LENGTH],
]


def _drawn_secrets() -> list[str]:
    """One secret per alphabet character as its first character, of seeded random length."""
    rng = random.Random(20_240_601)
    return [
        first + "".join(rng.choices(ALPHABET, k=rng.randint(0, MAX_LENGTH - 1)))
        for first in ALPHABET
    ]


def _short_id(secret: str) -> str:
    return secret if len(secret) <= 12 else f"{secret[:8]}..len{len(secret)}"


def _check_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shutil.which("haproxy") or "haproxy", "-dW", "-c", "-f", str(HAPROXY_CFG)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _wrong_variants(secret: str) -> list[str]:
    """Header values that differ from `secret` and must all be refused."""
    last = secret[-1]
    variants = {
        "",
        secret + "-",
        secret + "A",
        "-" + secret,
        secret[:-1] + ("_" if last != "_" else "-"),
        secret.swapcase(),
        "--",
        "-i",
    }
    if len(secret) > 1:
        variants.add(secret[:-1])
        variants.add(secret[1:])
    variants.discard(secret)
    return sorted(variants)


def test_secret_alphabet_is_the_one_the_generator_and_telegram_use() -> None:
    assert len(ALPHABET) == 64
    drawn = _drawn_secrets()
    assert {s[0] for s in drawn} == set(ALPHABET)
    assert all(1 <= len(s) <= MAX_LENGTH and set(s) <= set(ALPHABET) for s in drawn)
    assert all(1 <= len(s) <= MAX_LENGTH and set(s) <= set(ALPHABET) for s in SPECIAL_SECRETS)
    assert max(len(s) for s in SPECIAL_SECRETS) == MAX_LENGTH


def test_config_check_passes_for_every_allowed_secret(
    backends: list[EchoBackend], cert_dir: Path, tmp_path: Path
) -> None:
    base = haproxy_env(backends, cert_dir, free_ports(4), tmp_path / "s.sock")
    refused = {}
    for secret in SPECIAL_SECRETS + _drawn_secrets():
        result = _check_config(base | {"WEBHOOK_SECRET_TOKEN": secret})
        if result.returncode != 0:
            refused[_short_id(secret)] = (result.stdout + result.stderr).strip()[-300:]
    assert refused == {}


@pytest.mark.parametrize("secret", SPECIAL_SECRETS + _drawn_secrets()[-2:], ids=_short_id)
def test_right_secret_passes_and_any_other_is_refused(
    start_edge: Callable[..., Edge], backends: list[EchoBackend], secret: str
) -> None:
    # The drawn ones starting with '_' and '-' (the last two of the alphabet) also run live.
    edge = start_edge(WEBHOOK_SECRET_TOKEN=secret)
    body = json.dumps(update_for_chat(42))
    with edge.client() as client:
        refused = {
            _short_id(wrong): client.post(
                edge.webhook_url, content=body, headers=webhook_headers(wrong)
            ).status_code
            for wrong in _wrong_variants(secret)
        }
        assert all(b.webhook_hits() == [] for b in backends)
        right = client.post(edge.webhook_url, content=body, headers=webhook_headers(secret))
    assert refused == dict.fromkeys(refused, 403)
    assert right.status_code == 200, right.text
    hits = [hit for b in backends for hit in b.webhook_hits()]
    assert [hit.headers["x-telegram-bot-api-secret-token"] for hit in hits] == [secret]
