"""Secrets of one local cluster run, generated at `up` time and kept only in the run directory."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

# A fixed id makes the emulator's bot recognisable in logs; the token part is random per run.
LOCAL_BOT_ID = 7000000001
CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True)
class Credentials:
    bot_token: str
    webhook_secret: str
    stats_user: str
    stats_password: str

    @classmethod
    def generate(cls) -> Credentials:
        # token_urlsafe uses A-Z a-z 0-9 _ -: what Telegram allows in tokens and secret tokens,
        # and never ':', which HAProxy's userlist would misread in a password.
        return cls(
            bot_token=f"{LOCAL_BOT_ID}:{secrets.token_urlsafe(26)}",
            webhook_secret=secrets.token_urlsafe(32),
            stats_user="admin",
            stats_password=secrets.token_urlsafe(18),
        )

    def save(self, run_dir: Path) -> Path:
        path = run_dir / CREDENTIALS_FILE
        write_private_file(path, json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, run_dir: Path) -> Credentials:
        return cls(**json.loads((run_dir / CREDENTIALS_FILE).read_text()))

    @classmethod
    def load_or_generate(cls, run_dir: Path) -> Credentials:
        try:
            return cls.load(run_dir)
        except FileNotFoundError:
            credentials = cls.generate()
            credentials.save(run_dir)
            return credentials


def write_private_file(path: Path, content: str) -> None:
    """Write a file only its owner can read, without a moment where it is world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(content)
    os.chmod(path, 0o600)
