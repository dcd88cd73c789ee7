"""Operator commands (``scripts/admin_tools.py``): database, catalog, sessions, users, stats.

The operator's shell is trusted: commands act with operator authority (audited as actor 0, with
the operator's OS login). The original bot's commands keep their names and arguments
(``make_admin ID [super]``, ``list_users [LIMIT]``, ``stats [--days N]``, ...).
Everything but the schema commands goes through the services, as staff actions in the bot do.
Configuration comes from the same environment variables as the bot (MONGO_URL, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from rich.console import Console
from rich.table import Table

from bot.domain.i18n import DEFAULT_LANGUAGE
from bot.domain.reports import MAX_PERIOD_DAYS
from bot.domain.users import Role, User
from bot.services.operators import LIST_USERS_DEFAULT, LIST_USERS_MAX, PersonInfo, person_tags

# The composition root, the drivers and the bot's application are imported when a command runs,
# not when the arguments are read: a mistyped command is answered at once.
if TYPE_CHECKING:
    from bot.bootstrap import Storage
    from bot.services.container import Services
    from bot.settings import TelegramSettings

Command = Callable[[argparse.Namespace, "Storage", "Services"], Awaitable[int]]


async def cmd_db_migrate(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    from bot.infra.mongo import migrations

    if args.force is not None:
        await migrations.force(storage.db, args.force)
        state = await migrations.status(storage.db)
        print(f"recorded schema version {args.force}; the dirty mark is cleared")
        _print_pending(state.pending)
        return 0
    applied = await migrations.migrate(storage.db, to=args.to)
    if applied:
        print(f"applied migrations: {', '.join(map(str, applied))}")
    else:
        current = max(await migrations.applied_versions(storage.db), default=0)
        print(f"up to date (version {current})")
    return 0


async def cmd_db_rollback(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    from bot.infra.mongo import migrations

    reverted = await migrations.rollback(storage.db, to=args.to)
    current = max(await migrations.applied_versions(storage.db), default=0)
    if reverted:
        print(f"rolled back migrations: {', '.join(map(str, reverted))} (now version {current})")
    else:
        print(f"nothing to roll back (version {current})")
    return 0


async def cmd_db_status(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    """Exit 0: every migration applied and the database clean; 1: some pending; 3: dirty."""
    from bot.infra.mongo import migrations

    state = await migrations.status(storage.db)
    print(f"schema version {state.current}, latest {state.latest}")
    print(f"applied: {', '.join(map(str, state.applied)) or 'none'}")
    _print_pending(state.pending)
    if state.dirty is not None:
        mark = state.dirty
        print(
            f"dirty: migration {mark.version} ({mark.direction}) started {mark.at:%Y-%m-%d %H:%M:%S}"
            " UTC and has not finished; if no migration is running, check the database and"
            " record its version with `db migrate --force VERSION`"
        )
        return 3
    print("dirty: no")
    return 1 if state.pending else 0


def _print_pending(pending: Sequence[int]) -> None:
    print(f"pending: {', '.join(map(str, pending)) or 'none'}")


def _schema_version(text: str) -> int:
    """A version for --to and --force: 0 (no migration) or higher."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a schema version: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a schema version: {text!r}")
    return value


async def cmd_catalog_import(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    text = await asyncio.to_thread(Path(args.file).read_text, encoding="utf-8")
    document = json.loads(text)
    report = await services.catalog.import_file(None, document)
    print(
        f"imported {report.districts} districts, {report.sports} sports, "
        f"{report.complexes} complexes, {report.templates} weekly templates"
    )
    if args.generate_days:
        today = services.clock.now().date()
        created = await services.schedule.staff_generate(None, today, args.generate_days)
        print(f"generated {created} new sessions for the next {args.generate_days} days")
    return 0


async def cmd_catalog_export(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    document = await services.catalog.export_file()
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if args.file == "-":
        sys.stdout.write(text)
    else:
        await asyncio.to_thread(Path(args.file).write_text, text, encoding="utf-8")
        print(f"exported {len(document['complexes'])} complexes to {args.file}")
    return 0


async def cmd_sessions_generate(
    args: argparse.Namespace, storage: Storage, services: Services
) -> int:
    first = services.clock.now().date() + timedelta(days=args.offset)
    created = await services.schedule.staff_generate(None, first, args.days)
    print(f"generated {created} new sessions from {first.isoformat()} for {args.days} days")
    return 0


async def cmd_users_grant(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    user = await services.users.set_role(
        None, args.user_id, Role(args.role), frozenset(args.complex)
    )
    scope = f" for {', '.join(sorted(user.managed_complexes))}" if user.managed_complexes else ""
    print(f"user {user.telegram_id} is now {args.role}{scope}")
    return 0


async def cmd_users_revoke(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    await services.users.set_role(None, args.user_id, None)
    print(f"user {args.user_id} has no staff role")
    return 0


async def cmd_users_staff(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    staff = await services.users.list_staff()
    if args.json:
        _print_json([_user_json(user) for user in staff])
        return 0
    for user in staff:
        scope = ",".join(sorted(user.managed_complexes)) or "-"
        print(f"{user.telegram_id}\t{user.role}\t{scope}\t{user.name or ''}")
    return 0


async def cmd_users_block(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    if await services.users.get(args.user_id) is None:
        print(f"no user {args.user_id}", file=sys.stderr)
        return 1
    await services.users.set_blocked(None, args.user_id, args.blocked)
    print(f"user {args.user_id} {'blocked' if args.blocked else 'unblocked'}")
    return 0


async def cmd_stats(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    """Totals now, and the figures of the last ``--days`` days (as staff see them in the bot)."""
    by_status = await services.applications.count_by_status()
    report = await services.statistics.operator_report(args.days)
    period = report.period
    stats: dict[str, Any] = {
        "registered_users": await services.users.count_registered(),
        "applications": {status.value: n for status, n in sorted(by_status.items())},
        "complexes": await services.catalog.count_complexes(),
        "overdue_reminders": await services.reminders.overdue(),
        "period": {
            "first": period.first.isoformat(),
            "last": period.last.isoformat(),
            "days": period.days,
        },
        "new_users": report.new_users,
        "active_users": report.active_users,
        "applications_in_period": {
            "total": report.total_applications,
            "by_status": {s.value: n for s, n in report.applications.items()},
            "by_complex": {f.code: f.applications for f in report.by_complex if f.applications},
        },
        "sessions": report.sessions,
        "cancelled_sessions": report.cancelled_sessions,
        "seats": report.seats,
        "booked": report.booked,
        "occupancy": _rounded(report.occupancy),
        "waitlisted": report.waitlisted,
        "cancelled_bookings": report.cancelled_bookings,
        "attended": report.attended,
        "no_shows": report.no_shows,
        "no_show_rate": _rounded(report.no_show_rate),
        "popular_complexes": [
            {
                "code": f.code,
                "name": f.name.get(DEFAULT_LANGUAGE),
                "applications": f.applications,
                "booked": f.booked,
            }
            for f in report.popular_complexes()
        ],
        "popular_sports": [
            {
                "code": f.code,
                "name": f.name.get(DEFAULT_LANGUAGE),
                "applications": f.applications,
                "booked": f.booked,
            }
            for f in report.popular_sports()
        ],
    }
    if args.json:
        _print_json(stats)
        return 0
    console = _console()
    totals = Table(title="now", title_justify="left", show_header=False)
    totals.add_column("figure")
    totals.add_column("value", justify="right")
    for key in ("registered_users", "complexes", "overdue_reminders"):
        totals.add_row(key.replace("_", " "), str(stats[key]))
    for status, count in stats["applications"].items():
        totals.add_row(f"applications {status}", str(count))
    console.print(totals)
    figures = Table(
        title=f"last {period.days} days: {period.first.isoformat()} .. {period.last.isoformat()}",
        title_justify="left",
        show_header=False,
    )
    figures.add_column("figure")
    figures.add_column("value", justify="right")
    percent = {"occupancy", "no_show_rate"}
    for key in (
        "new_users",
        "active_users",
        "sessions",
        "cancelled_sessions",
        "seats",
        "booked",
        "occupancy",
        "waitlisted",
        "cancelled_bookings",
        "attended",
        "no_shows",
        "no_show_rate",
    ):
        value = stats[key]
        shown = "-" if value is None else f"{value:.0%}" if key in percent else str(value)
        figures.add_row(key.replace("_", " "), shown)
    figures.add_row("applications", str(report.total_applications))
    for status, count in stats["applications_in_period"]["by_status"].items():
        if count:
            figures.add_row(f"  {status}", str(count))
    console.print(figures)
    for title, rows in (
        ("popular complexes", stats["popular_complexes"]),
        ("popular sports", stats["popular_sports"]),
    ):
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        for column in ("code", "name", "applications", "booked"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(row["code"], row["name"], str(row["applications"]), str(row["booked"]))
        console.print(table)
    return 0


def _rounded(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def _days(value: str) -> int:
    if not value.strip().isdigit() or not 1 <= int(value) <= MAX_PERIOD_DAYS:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a number of days within 1..{MAX_PERIOD_DAYS}"
        )
    return int(value)


# --- the original bot's commands, as operators' runbooks use them (make_admin ID [super], ...) ---


def _console() -> Console:
    """Tables at full width when piped (rich would assume 80 columns and wrap them)."""
    return Console(width=None if sys.stdout.isatty() else 200, highlight=False)


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else "-"


def _user_json(user: User) -> dict[str, Any]:
    return {
        "telegram_id": user.telegram_id,
        "name": user.name,
        "phone": user.phone,
        "language": user.language,
        "registered_at": _when(user.registered_at) if user.registered_at else None,
        "role": user.role.value if user.role else None,
        "complexes": sorted(user.managed_complexes),
        "blocked": user.blocked,
        "unreachable": user.unreachable,
        "deleted_at": _when(user.deleted_at) if user.deleted_at else None,
        "tags": person_tags(user),
    }


def _people_table(title: str, people: Sequence[User]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("ID", "name", "phone", "registered", "role", "complexes", "tags"):
        table.add_column(column, overflow="fold")
    for user in people:
        table.add_row(
            str(user.telegram_id),
            user.name or "-",
            user.phone or "-",
            _when(user.registered_at),
            user.role.value if user.role else "-",
            ", ".join(sorted(user.managed_complexes)) or "-",
            " ".join(person_tags(user)) or "-",
        )
    return table


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


async def cmd_make_admin(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    if args.level not in (None, "super"):
        return _usage_error(
            f"make_admin: the second argument is 'super' or nothing, not {args.level!r}"
        )
    user = await services.operators.make_admin(args.user_id, super_admin=args.level == "super")
    role = "super admin" if user.role is Role.SUPER_ADMIN else "admin"
    print(f"user {user.telegram_id} ({user.name or 'no name'}) is now {role}")
    return 0


async def cmd_remove_admin(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    user, had = await services.operators.remove_admin(args.user_id)
    if had is None:
        print(
            f"user {user.telegram_id} ({user.name or 'no name'}) had no staff role: nothing changed"
        )
    else:
        print(f"user {user.telegram_id} ({user.name or 'no name'}) is no longer {had.value}")
    return 0


async def cmd_list_admins(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    staff = await services.operators.list_admins()
    if args.json:
        _print_json([_user_json(user) for user in staff])
    elif not staff:
        print("no staff: grant a role with make_admin ID [super] or users grant")
    else:
        _console().print(_people_table(f"staff: {len(staff)}", staff))
    return 0


async def cmd_user_info(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    info: PersonInfo = await services.operators.user_info(args.user_id)
    applications = [
        {
            "id": a.id,
            "number": a.number,
            "complex": a.complex_code,
            "sport": a.sport_code,
            "status": a.status.value,
            "created_at": _when(a.created_at),
        }
        for a in info.applications.items
    ]
    tally = info.bookings
    if args.json:
        _print_json(
            _user_json(info.user)
            | {
                "applications_total": info.applications.total,
                "latest_applications": applications,
                "bookings": {
                    "total": tally.total,
                    "active": tally.active,
                    "attended": tally.attended,
                    "no_shows": tally.no_shows,
                },
            }
        )
        return 0
    user = info.user
    table = Table(title=f"user {user.telegram_id}", title_justify="left", show_header=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for field, value in (
        ("name", user.name or "-"),
        ("phone", user.phone or "-"),
        ("language", user.language),
        ("registered", _when(user.registered_at)),
        ("role", user.role.value if user.role else "-"),
        ("complexes", ", ".join(sorted(user.managed_complexes)) or "-"),
        ("tags", " ".join(person_tags(user)) or "-"),
        ("unreachable", "yes" if user.unreachable else "no"),
        ("applications", str(info.applications.total)),
        (
            "bookings",
            f"{tally.total} (active {tally.active}, attended {tally.attended}, "
            f"no-shows {tally.no_shows})",
        ),
    ):
        table.add_row(field, value)
    console = _console()
    console.print(table)
    if applications:
        latest = Table(title="latest applications", title_justify="left")
        for column in ("number", "complex", "sport", "status", "created"):
            latest.add_column(column, overflow="fold")
        for a in info.applications.items:
            latest.add_row(
                str(a.number) if a.number is not None else a.id[-6:].upper(),
                a.complex_code,
                a.sport_code,
                a.status.value,
                _when(a.created_at),
            )
        console.print(latest)
    return 0


async def cmd_list_users(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    people = await services.operators.list_users(args.limit)
    if args.json:
        _print_json([_user_json(user) for user in people])
    elif not people:
        print("no users yet")
    else:
        _console().print(_people_table(f"users: first {len(people)} by ID", people))
    return 0


async def cmd_block_user(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    user, changed = await services.operators.set_blocked(args.user_id, args.blocked)
    state = "blocked" if args.blocked else "unblocked"
    if changed:
        print(f"user {user.telegram_id} ({user.name or 'no name'}) {state}")
    else:
        print(f"user {user.telegram_id} ({user.name or 'no name'}) was {state} already")
    return 0


def _telegram_id(value: str) -> int:
    """A Telegram user id as typed: a positive whole number."""
    if not value.strip().isdigit() or int(value) <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a Telegram user id (a positive number)")
    return int(value)


def _limit(value: str) -> int:
    if not value.strip().isdigit() or not 1 <= int(value) <= LIST_USERS_MAX:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number within 1..{LIST_USERS_MAX}")
    return int(value)


def _usage_error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments are one clear line (and exit 2), not a usage block and a second line."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


# --- backup and restore (bot/services/backup.py; the fok.backup task runs the same code) -------


async def cmd_backup(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    from bot.infra.mongo.backup import mongo_backup_service
    from bot.infra.progress import terminal_progress
    from bot.services.backup import BackupFailed, RetentionPolicy
    from bot.settings import BackupSettings, SettingsError, load_section

    try:
        settings = load_section(BackupSettings)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    directory = Path(args.dir or settings.directory)
    retention = RetentionPolicy(settings.retention_count, timedelta(days=settings.retention_days))
    service = mongo_backup_service(storage.db, clock=services.clock)
    try:
        report = await service.create(directory, retention, terminal_progress())
    except BackupFailed as error:
        print(f"error: backup failed: {error}", file=sys.stderr)
        return 1
    manifest = report.manifest
    print(
        f"backup written: {report.path} ({manifest.documents} documents in "
        f"{len(manifest.collections)} collections, schema version {manifest.schema_version})"
    )
    for path in report.pruned.removed:
        print(f"removed old backup: {path.name}")
    for path, reason in report.pruned.failed:
        print(f"warning: could not remove old backup {path.name}: {reason}", file=sys.stderr)
    return 0


async def cmd_restore(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    from bot.infra.mongo.backup import mongo_backup_service
    from bot.infra.progress import terminal_progress
    from bot.services.backup import RestoreRefused, TargetNotEmpty

    archive = Path(args.archive)
    target = args.database or storage.db.name
    service = mongo_backup_service(storage.db, database_name=args.database, clock=services.clock)
    try:
        if args.check:
            manifest = await service.verify(archive)
            print(
                f"{archive.name} is intact: {manifest.documents} documents in "
                f"{len(manifest.collections)} collections, schema version "
                f"{manifest.schema_version}, made {manifest.created_at.isoformat()}"
            )
            return 0
        report = await service.restore(archive, replace=args.replace, progress=terminal_progress())
    except TargetNotEmpty as error:
        print(
            f"error: restore refused: database {target} is not empty ({error.documents} "
            f"documents in {error.collections} collections); add --replace to restore over it",
            file=sys.stderr,
        )
        return 1
    except RestoreRefused as error:
        print(f"error: restore refused: {error}", file=sys.stderr)
        return 1
    for collection in report.collections:
        print(f"{collection.name}: {collection.documents} documents, {collection.indexes} indexes")
    for name in report.dropped:
        print(f"{name}: dropped (not in the backup)")
    print(
        f"restored {archive.name} into {target}: {report.documents} documents in "
        f"{len(report.collections)} collections, schema version "
        f"{report.manifest.schema_version}, backed up {report.manifest.created_at.isoformat()}"
    )
    return 0


def _database_name(value: str) -> str:
    """``--database``: the shape MONGO_DATABASE must have."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,60}", value):
        raise argparse.ArgumentTypeError("must be 1-60 of A-Z a-z 0-9 _ -")
    return value


# --- webhook (deploy time only: the bot never calls setWebhook at start, design §4 rule 3) ------

TelegramCommand = Callable[[argparse.Namespace, "TelegramSettings"], Awaitable[int]]


async def _bot_api(
    telegram: TelegramSettings, method: str, *, data: dict[str, str], files: Any = None
) -> tuple[int, dict[str, Any]]:
    import httpx

    base = str(telegram.api_base_url).rstrip("/")
    url = f"{base}/bot{telegram.bot_token.get_secret_value()}/{method}"
    try:
        async with httpx.AsyncClient(timeout=telegram.request_timeout_seconds) as http:
            response = await http.post(url, data=data, files=files)
    except httpx.HTTPError as error:
        # httpx puts the URL (with the token) into its messages: report the kind only.
        print(f"error: {method}: {type(error).__name__}", file=sys.stderr)
        return 1, {}
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        print(f"error: {method}: HTTP {response.status_code}, not JSON", file=sys.stderr)
        return 1, {}
    if not body.get("ok"):
        print(f"error: {method}: {body.get('description', response.status_code)}", file=sys.stderr)
        return 1, body
    return 0, body


async def cmd_webhook_set(args: argparse.Namespace, telegram: TelegramSettings) -> int:
    url = args.url or (str(telegram.webhook_url) if telegram.webhook_url else None)
    if not url:
        print("error: give the URL or set TELEGRAM_WEBHOOK_URL", file=sys.stderr)
        return 2
    data = {
        "url": url,
        "secret_token": telegram.webhook_secret.get_secret_value(),
        "max_connections": str(telegram.webhook_max_connections),
        "drop_pending_updates": "true" if args.drop_pending_updates else "false",
    }
    if telegram.webhook_ca_file:  # a self-signed certificate must be uploaded to Telegram
        certificate = await asyncio.to_thread(Path(telegram.webhook_ca_file).read_bytes)
        code, _ = await _bot_api(
            telegram, "setWebhook", data=data, files={"certificate": ("ca.pem", certificate)}
        )
    else:
        code, _ = await _bot_api(telegram, "setWebhook", data=data)
    if code == 0:
        print(f"webhook set to {url} (max_connections {data['max_connections']})")
    return code


async def cmd_webhook_info(args: argparse.Namespace, telegram: TelegramSettings) -> int:
    code, body = await _bot_api(telegram, "getWebhookInfo", data={})
    if code == 0:
        print(json.dumps(body["result"], ensure_ascii=False, indent=2))
    return code


async def cmd_webhook_delete(args: argparse.Namespace, telegram: TelegramSettings) -> int:
    data = {"drop_pending_updates": "true" if args.drop_pending_updates else "false"}
    code, _ = await _bot_api(telegram, "deleteWebhook", data=data)
    if code == 0:
        print("webhook deleted")
    return code


async def cmd_commands_publish(args: argparse.Namespace, telegram: TelegramSettings) -> int:
    """setMyCommands in Russian (everyone) and English (English-speaking clients)."""
    from bot.telegram.application import BOT_COMMANDS

    for language, commands in BOT_COMMANDS.items():
        data = {"commands": json.dumps([c.to_dict() for c in commands], ensure_ascii=False)}
        if language != DEFAULT_LANGUAGE:
            data["language_code"] = language
        code, _ = await _bot_api(telegram, "setMyCommands", data=data)
        if code:
            return code
    print(f"commands published: {', '.join(sorted(BOT_COMMANDS))}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="admin_tools.py", description=__doc__)
    groups = parser.add_subparsers(dest="group", required=True)

    db = groups.add_parser("db", help="database schema").add_subparsers(
        dest="action", required=True
    )
    db_migrate = db.add_parser("migrate", help="apply pending migrations (idempotent)")
    db_migrate_target = db_migrate.add_mutually_exclusive_group()
    db_migrate_target.add_argument(
        "--to",
        type=_schema_version,
        metavar="VERSION",
        help="stop at this version (default: latest)",
    )
    db_migrate_target.add_argument(
        "--force",
        type=_schema_version,
        metavar="VERSION",
        help="after checking a dirty database: record it at VERSION and clear the mark; runs nothing",
    )
    db_migrate.set_defaults(run=cmd_db_migrate)
    db_rollback = db.add_parser("rollback", help="revert migrations (default: the last one)")
    db_rollback.add_argument(
        "--to", type=_schema_version, metavar="VERSION", help="revert everything above VERSION"
    )
    db_rollback.set_defaults(run=cmd_db_rollback)
    db.add_parser("status", help="applied and pending migrations, and a dirty mark").set_defaults(
        run=cmd_db_status
    )

    catalog = groups.add_parser("catalog", help="catalog import/export").add_subparsers(
        dest="action", required=True
    )
    imp = catalog.add_parser("import", help="import a fok-catalog/1 JSON file")
    imp.add_argument("file")
    imp.add_argument("--generate-days", type=int, default=7, help="then generate sessions (0: no)")
    imp.set_defaults(run=cmd_catalog_import)
    exp = catalog.add_parser("export", help="export the catalog ('-' for stdout)")
    exp.add_argument("file")
    exp.set_defaults(run=cmd_catalog_export)

    sessions = groups.add_parser("sessions", help="schedule").add_subparsers(
        dest="action", required=True
    )
    gen = sessions.add_parser("generate", help="create dated sessions from weekly templates")
    gen.add_argument("--days", type=int, default=14)
    gen.add_argument("--offset", type=int, default=0, help="start this many days from today")
    gen.set_defaults(run=cmd_sessions_generate)

    users = groups.add_parser("users", help="staff roles and blocking").add_subparsers(
        dest="action", required=True
    )
    grant = users.add_parser("grant", help="give a staff role")
    grant.add_argument("user_id", type=int)
    grant.add_argument("role", choices=[r.value for r in Role])
    grant.add_argument("--complex", action="append", default=[], help="a manager's complex code")
    grant.set_defaults(run=cmd_users_grant)
    revoke = users.add_parser("revoke", help="remove the staff role")
    revoke.add_argument("user_id", type=int)
    revoke.set_defaults(run=cmd_users_revoke)
    users_staff = users.add_parser("staff", help="list staff")
    users_staff.add_argument("--json", action="store_true")
    users_staff.set_defaults(run=cmd_users_staff)
    for name, blocked in (("block", True), ("unblock", False)):
        cmd = users.add_parser(name, help=f"{name} a user")
        cmd.add_argument("user_id", type=int)
        cmd.set_defaults(run=cmd_users_block, blocked=blocked)

    # The original bot's commands, with its names and arguments (operators' runbooks use them).
    make_admin = groups.add_parser(
        "make_admin", help="make a known user admin ('super': super admin)"
    )
    make_admin.add_argument("user_id", metavar="ID", type=_telegram_id)
    make_admin.add_argument("level", nargs="?", metavar="super", help="'super' for a super admin")
    make_admin.set_defaults(run=cmd_make_admin)
    remove_admin = groups.add_parser("remove_admin", help="take the staff role away")
    remove_admin.add_argument("user_id", metavar="ID", type=_telegram_id)
    remove_admin.set_defaults(run=cmd_remove_admin)
    list_admins = groups.add_parser("list_admins", help="everyone with a staff role")
    list_admins.add_argument("--json", action="store_true")
    list_admins.set_defaults(run=cmd_list_admins)
    user_info = groups.add_parser("user_info", help="a user's record, applications and bookings")
    user_info.add_argument("user_id", metavar="ID", type=_telegram_id)
    user_info.add_argument("--json", action="store_true")
    user_info.set_defaults(run=cmd_user_info)
    list_users = groups.add_parser(
        "list_users", help="users by ID with tags SUPER_ADMIN ADMIN MANAGER BLOCKED INCOMPLETE"
    )
    list_users.add_argument(
        "limit", metavar="LIMIT", nargs="?", type=_limit, default=LIST_USERS_DEFAULT
    )
    list_users.add_argument("--json", action="store_true")
    list_users.set_defaults(run=cmd_list_users)
    for name, blocked in (("block_user", True), ("unblock_user", False)):
        cmd = groups.add_parser(name, help=f"{name.split('_')[0]} a known user")
        cmd.add_argument("user_id", metavar="ID", type=_telegram_id)
        cmd.set_defaults(run=cmd_block_user, blocked=blocked)

    stats = groups.add_parser(
        "stats", help="totals, and the last --days days: people, applications, bookings, no-shows"
    )
    stats.add_argument("--days", type=_days, default=30, help="the period, today included (30)")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(run=cmd_stats)

    backup = groups.add_parser("backup", help="back up every collection (BACKUP_* settings)")
    backup.add_argument("--dir", help="directory of the archives (default: BACKUP_DIRECTORY)")
    backup.set_defaults(run=cmd_backup)
    restore = groups.add_parser("restore", help="restore a backup archive, verified first")
    restore.add_argument("archive", help="a fok-backup-*.tar.gz file")
    restore.add_argument(
        "--replace", action="store_true", help="restore over a database that holds documents"
    )
    restore.add_argument(
        "--database", type=_database_name, help="restore into this database (MONGO_DATABASE)"
    )
    restore.add_argument("--check", action="store_true", help="only verify the archive")
    restore.set_defaults(run=cmd_restore)

    webhook = groups.add_parser(
        "webhook", help="Telegram webhook (TELEGRAM_* settings; deploy time)"
    ).add_subparsers(dest="action", required=True)
    set_hook = webhook.add_parser("set", help="setWebhook with the secret token")
    set_hook.add_argument("url", nargs="?", help="default: TELEGRAM_WEBHOOK_URL")
    set_hook.add_argument("--drop-pending-updates", action="store_true")
    set_hook.set_defaults(telegram_run=cmd_webhook_set)
    webhook.add_parser("info", help="getWebhookInfo").set_defaults(telegram_run=cmd_webhook_info)
    delete_hook = webhook.add_parser("delete", help="deleteWebhook")
    delete_hook.add_argument("--drop-pending-updates", action="store_true")
    delete_hook.set_defaults(telegram_run=cmd_webhook_delete)

    commands = groups.add_parser(
        "commands", help="the bot's command menu (TELEGRAM_* settings; deploy time)"
    ).add_subparsers(dest="action", required=True)
    commands.add_parser("publish", help="setMyCommands, ru and en").set_defaults(
        telegram_run=cmd_commands_publish
    )
    return parser


def operator_login() -> str:
    """Who runs the command, for the audit log: the OS login (``getpass.getuser``)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no LOGNAME/USER and no passwd entry (a bare container)
        return "unknown"


async def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    from bot.bootstrap import ProcessRole, open_process
    from bot.domain.errors import DomainError
    from bot.infra.mongo.migrations import MigrationError
    from bot.settings import MongoSettings, SettingsError, TelegramSettings, load_section

    telegram_command: TelegramCommand | None = getattr(args, "telegram_run", None)
    if telegram_command is not None:
        try:
            telegram = load_section(TelegramSettings)
        except SettingsError as error:
            print(error, file=sys.stderr)
            return 2
        return await telegram_command(args, telegram)
    try:
        mongo = load_section(MongoSettings)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        async with open_process(
            mongo, ProcessRole.CLI, name="admin-tools", operator=operator_login()
        ) as process:
            command: Command = args.run
            return await command(args, process.storage, process.services)
    except DomainError as error:
        print(f"error: {error.code}: {error}", file=sys.stderr)
        return 1
    except MigrationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(sys.argv[1:] if argv is None else argv))
