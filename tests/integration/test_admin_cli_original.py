"""The original bot's operator commands (``make_admin ID [super]``, ``list_users [LIMIT]``, ...)
run as operators run them: ``scripts/admin_tools.py`` as a subprocess against SecantusDB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pymongo import MongoClient

from bot.domain.users import Role, User
from bot.infra.mongo.users import user_to_doc

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
OPERATOR = "ops-alice"
REGISTERED = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def admin(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "admin_tools.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    """Refused with ``code``, one line on stderr naming ``needles``, nothing on stdout."""
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.fixture
def env(mongo_url: str, mongo_db_name: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MONGO_", "TELEGRAM_"))}
    return clean | {
        "MONGO_URL": mongo_url,
        "MONGO_DATABASE": mongo_db_name,
        # getpass.getuser() reads these first: the operator the audit entries must name.
        "LOGNAME": OPERATOR,
        "USER": OPERATOR,
    }


@pytest.fixture
def db(mongo_url: str, mongo_db_name: str) -> object:
    client: MongoClient[dict[str, object]] = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    with client:
        yield client[mongo_db_name]


def people(db: object) -> None:
    """Four people who sent /start: two registered residents, one who never finished, one blocked."""
    users = [
        User(501, "Анна", "+79160000501", consent_at=REGISTERED, registered_at=REGISTERED),
        User(502, "Борис", "+79160000502", consent_at=REGISTERED, registered_at=REGISTERED),
        User(503, "Вера"),  # registration not finished
        User(504, "Глеб", consent_at=REGISTERED, registered_at=REGISTERED, blocked=True),
        User(505, "Дина", role=Role.MANAGER, managed_complexes=frozenset({"c1"})),
    ]
    collection = db.users  # type: ignore[attr-defined]
    collection.insert_many([user_to_doc(user) for user in users])


def test_make_admin_list_admins_and_remove_admin_are_audited_with_the_operator(
    env: dict[str, str], db: object
) -> None:
    people(db)
    made = admin(env, "make_admin", "501")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "user 501 (Анна) is now admin"
    made_super = admin(env, "make_admin", "502", "super")
    assert made_super.stdout.strip() == "user 502 (Борис) is now super admin"

    listed = admin(env, "list_admins", "--json")
    assert listed.returncode == 0, listed.stderr
    staff = {person["telegram_id"]: person for person in json.loads(listed.stdout)}
    assert sorted(staff) == [501, 502, 505]
    assert (staff[501]["role"], staff[502]["role"], staff[505]["role"]) == (
        "admin",
        "super_admin",
        "manager",
    )
    assert staff[505]["complexes"] == ["c1"]
    table = admin(env, "list_admins")
    assert "staff: 3" in table.stdout
    row = next(line for line in table.stdout.splitlines() if "Борис" in line)
    assert "super_admin" in row
    assert "SUPER_ADMIN" in row

    removed = admin(env, "remove_admin", "502")
    assert removed.stdout.strip() == "user 502 (Борис) is no longer super_admin"
    again = admin(env, "remove_admin", "502")
    assert again.returncode == 0
    assert "had no staff role: nothing changed" in again.stdout

    entries = list(db.audit_log.find({}, sort=[("at", 1), ("_id", 1)]))  # type: ignore[attr-defined]
    assert [(e["action"], e["target_id"]) for e in entries] == [
        ("user.role", "501"),
        ("user.role", "502"),
        ("user.role", "502"),
    ]
    assert {(e["actor_id"], e["actor_name"]) for e in entries} == {(0, OPERATOR)}
    assert entries[2]["details"]["before"] == {"role": "super_admin", "complexes": []}
    assert entries[2]["details"]["after"] == {"role": None, "complexes": []}


def test_block_user_and_unblock_user_change_the_flag_once_and_tell_the_person(
    env: dict[str, str], db: object
) -> None:
    people(db)
    blocked = admin(env, "block_user", "501")
    assert blocked.returncode == 0, blocked.stderr
    assert blocked.stdout.strip() == "user 501 (Анна) blocked"
    assert db.users.find_one({"_id": 501})["blocked"] is True  # type: ignore[attr-defined]
    twice = admin(env, "block_user", "501")
    assert twice.stdout.strip() == "user 501 (Анна) was blocked already"
    unblocked = admin(env, "unblock_user", "504")
    assert unblocked.stdout.strip() == "user 504 (Глеб) unblocked"
    assert db.users.find_one({"_id": 504})["blocked"] is False  # type: ignore[attr-defined]

    entries = list(db.audit_log.find({}, sort=[("at", 1), ("_id", 1)]))  # type: ignore[attr-defined]
    assert sorted((e["action"], e["target_id"]) for e in entries) == [
        ("user.block", "501"),
        ("user.unblock", "504"),
    ]
    assert {e["actor_name"] for e in entries} == {OPERATOR}
    # The blocked person hears of it once, through the outbox, as after a block in the bot.
    notices = list(db.outbox.find({"user_id": 501}))  # type: ignore[attr-defined]
    assert [n["kind"] for n in notices] == ["user_blocked"]


def test_user_info_and_list_users_show_the_original_s_tags(env: dict[str, str], db: object) -> None:
    people(db)
    info = admin(env, "user_info", "505", "--json")
    assert info.returncode == 0, info.stderr
    shown = json.loads(info.stdout)
    assert shown["name"] == "Дина"
    assert shown["tags"] == ["MANAGER", "INCOMPLETE"]  # never finished registering
    assert shown["applications_total"] == 0
    assert shown["bookings"] == {"total": 0, "active": 0, "attended": 0, "no_shows": 0}
    readable = admin(env, "user_info", "501")
    assert "Анна" in readable.stdout
    assert "+79160000501" in readable.stdout

    listed = json.loads(admin(env, "list_users", "--json").stdout)
    assert [(p["telegram_id"], p["tags"]) for p in listed] == [
        (501, []),
        (502, []),
        (503, ["INCOMPLETE"]),
        (504, ["BLOCKED"]),
        (505, ["MANAGER", "INCOMPLETE"]),
    ]
    first_two = json.loads(admin(env, "list_users", "2", "--json").stdout)
    assert [p["telegram_id"] for p in first_two] == [501, 502]
    table = admin(env, "list_users", "3")
    assert "users: first 3 by ID" in table.stdout
    assert "INCOMPLETE" in next(line for line in table.stdout.splitlines() if "Вера" in line)
    assert "Глеб" not in table.stdout
    assert list(db.audit_log.find({})) == []  # type: ignore[attr-defined]  # reads change nothing


def test_bad_input_is_one_clear_line_and_a_non_zero_exit(env: dict[str, str], db: object) -> None:
    people(db)
    for command in ("make_admin", "remove_admin", "user_info", "block_user", "unblock_user"):
        unknown = admin(env, command, "999")
        one_line_error(unknown, 1, "user 999 is not known to the bot")
        not_a_number = admin(env, command, "abc")
        one_line_error(not_a_number, 2, "'abc' is not a Telegram user id")
        missing = admin(env, command)
        one_line_error(missing, 2, "the following arguments are required: ID")
    one_line_error(admin(env, "make_admin", "501", "root"), 2, "'super' or nothing", "'root'")
    one_line_error(admin(env, "list_users", "0"), 2, "'0' is not a number within 1..10000")
    one_line_error(admin(env, "list_users", "many"), 2, "'many' is not a number")
    one_line_error(admin(env, "make_admin", "-5"), 2, "'-5' is not a Telegram user id")
    # Nothing was changed by any of it.
    assert list(db.audit_log.find({})) == []  # type: ignore[attr-defined]
    assert db.users.count_documents({"role": {"$ne": None}}) == 1  # type: ignore[attr-defined]


def test_stats_counts_the_last_days_as_staff_see_them(env: dict[str, str], db: object) -> None:
    from bot.domain.applications import new_application
    from bot.infra.mongo.applications import application_to_doc

    seed = ROOT / "data" / "catalog" / "nizhny-novgorod.json"
    assert admin(env, "db", "migrate").returncode == 0
    imported = admin(env, "catalog", "import", str(seed), "--generate-days", "0")
    assert imported.returncode == 0, imported.stderr
    catalog = json.loads(seed.read_text(encoding="utf-8"))
    first, second = (c["code"] for c in catalog["complexes"][:2])
    sport = catalog["complexes"][0]["sports"][0]
    people(db)
    now = datetime.now(UTC)
    for index, (user, code, days_ago) in enumerate(
        ((501, first, 1), (502, first, 2), (501, second, 3), (503, first, 20))
    ):
        made = new_application(
            application_id=f"app{index}",
            user_id=user,
            complex_code=code,
            sport_code=sport if code == first else catalog["complexes"][1]["sports"][0],
            at=now - timedelta(days=days_ago),
            comment=None,
            applicant_name="Житель",
            applicant_phone=None,
        )
        db.applications.insert_one(application_to_doc(made))  # type: ignore[attr-defined]

    week = admin(env, "stats", "--days", "7", "--json")
    assert week.returncode == 0, week.stderr
    figures = json.loads(week.stdout)
    assert figures["period"]["days"] == 7
    assert figures["complexes"] == len(catalog["complexes"])  # the totals stay as they were
    assert figures["applications"] == {"pending": 4}
    assert figures["applications_in_period"] == {
        "total": 3,
        "by_status": {
            s: 3 if s == "pending" else 0 for s in figures["applications_in_period"]["by_status"]
        },
        "by_complex": {first: 2, second: 1},
    }
    assert figures["active_users"] == 2
    assert [c["code"] for c in figures["popular_complexes"]] == [first, second]
    assert figures["occupancy"] is None  # no sessions held: no occupancy, not 0 %
    assert figures["no_show_rate"] is None
    month = json.loads(admin(env, "stats", "--days", "30", "--json").stdout)
    assert month["applications_in_period"]["total"] == 4
    assert month["active_users"] == 3
    readable = admin(env, "stats")
    assert readable.returncode == 0, readable.stderr
    assert "last 30 days" in readable.stdout
    assert "popular complexes" in readable.stdout
    one_line_error(admin(env, "stats", "--days", "0"), 2, "'0' is not a number of days")
    one_line_error(admin(env, "stats", "--days", "week"), 2, "'week' is not a number of days")
    one_line_error(admin(env, "stats", "--days"), 2, "expected one argument")
