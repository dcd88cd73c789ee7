"""A person's data deleted through the bot is in no backup made after the deletion."""

from __future__ import annotations

from pathlib import Path

import bson
import pytest

from bot.bootstrap import Services, Storage
from bot.services.backup import BackupService
from tests.integration.backup.conftest import RESIDENTS, RETENTION, read_archive

pytestmark = pytest.mark.integration
COMMENT = "после 18:00, пожалуйста"  # what Анна wrote on her application (conftest.populate)


def traces(text: str) -> list[bytes]:
    """How ``text`` would look anywhere in an archive (BSON and JSON are UTF-8)."""
    return [text.encode("utf-8"), text.lower().encode("utf-8")]


async def test_deleted_personal_data_is_in_no_later_backup(
    populated: Storage, services: Services, backups: BackupService, tmp_path: Path
) -> None:
    anna, boris, _ = RESIDENTS
    before = read_archive((await backups.create(tmp_path / "before", RETENTION)).path)
    everything_before = b"".join(before.values())
    # The search can find what it looks for: before the deletion her data is there.
    for trace in [*traces(anna.name), *traces(anna.phone), *traces(COMMENT)]:
        assert trace in everything_before, trace

    await services.users.delete_my_data(anna.telegram_id)
    report = await backups.create(tmp_path / "after", RETENTION)

    members = read_archive(report.path)
    everything = b"".join(members.values())
    for trace in [*traces(anna.name), *traces(anna.phone), *traces(COMMENT)]:
        assert trace not in everything, trace
    # Only hers: the others' data is still backed up.
    assert boris.name.encode("utf-8") in everything
    assert boris.phone.encode("utf-8") in everything

    users = {d["_id"]: d for d in bson.decode_all(members["collections/users.bson"])}
    erased = users[anna.telegram_id]
    for field in ("name", "name_lower", "phone", "consent_at", "registered_at", "role"):
        assert erased.get(field) is None, field
    assert erased["deleted_at"] is not None
    applications = [
        d
        for d in bson.decode_all(members["collections/applications.bson"])
        if d["user_id"] == anna.telegram_id
    ]
    assert applications, "her application stays, anonymous"
    for application in applications:
        for field in ("applicant_name", "applicant_phone", "comment"):
            assert application.get(field) is None, field
