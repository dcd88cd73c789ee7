"""Operator commands (``scripts/admin_tools.py``): database, catalog, sessions, users, stats.

The operator's shell is trusted: commands act with operator authority (audited as actor 0).
Everything but the schema commands goes through the services, as staff actions in the bot do.
Configuration comes from the same environment variables as the bot (MONGO_URL, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.bootstrap import ProcessRole, Storage, open_process
from bot.domain.errors import DomainError
from bot.domain.i18n import DEFAULT_LANGUAGE
from bot.domain.users import Role
from bot.infra.mongo.backup import mongo_backup_service
from bot.infra.mongo.migrations import applied_versions, latest_version, migrate
from bot.infra.progress import terminal_progress
from bot.services.backup import BackupFailed, RestoreRefused, RetentionPolicy, TargetNotEmpty
from bot.services.container import Services
from bot.settings import (
    BackupSettings,
    MongoSettings,
    SettingsError,
    TelegramSettings,
    load_section,
)
from bot.telegram.application import BOT_COMMANDS

Command = Callable[[argparse.Namespace, Storage, Services], Awaitable[int]]


async def cmd_db_migrate(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    applied = await migrate(storage.db)
    if applied:
        print(f"applied migrations: {', '.join(map(str, applied))}")
    else:
        print(f"up to date (version {latest_version()})")
    return 0


async def cmd_db_status(args: argparse.Namespace, storage: Storage, services: Services) -> int:
    versions = await applied_versions(storage.db)
    current = max(versions, default=0)
    print(f"schema version {current}, latest {latest_version()}")
    return 0 if current == latest_version() else 1


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
    for user in await services.users.list_staff():
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
    by_status = await services.applications.count_by_status()
    stats: dict[str, Any] = {
        "registered_users": await services.users.count_registered(),
        "applications": {status.value: n for status, n in sorted(by_status.items())},
        "complexes": await services.catalog.count_complexes(),
        "overdue_reminders": await services.reminders.overdue(),
    }
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
    else:
        for key, value in stats.items():
            print(f"{key}: {value}")
    return 0


# --- backup and restore (bot/services/backup.py; the fok.backup task runs the same code) -------


async def cmd_backup(args: argparse.Namespace, storage: Storage, services: Services) -> int:
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

TelegramCommand = Callable[[argparse.Namespace, TelegramSettings], Awaitable[int]]


async def _bot_api(
    telegram: TelegramSettings, method: str, *, data: dict[str, str], files: Any = None
) -> tuple[int, dict[str, Any]]:
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
    parser = argparse.ArgumentParser(prog="admin_tools.py", description=__doc__)
    groups = parser.add_subparsers(dest="group", required=True)

    db = groups.add_parser("db", help="database schema").add_subparsers(
        dest="action", required=True
    )
    db.add_parser("migrate", help="apply pending migrations (idempotent)").set_defaults(
        run=cmd_db_migrate
    )
    db.add_parser("status", help="show the schema version").set_defaults(run=cmd_db_status)

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
    users.add_parser("staff", help="list staff").set_defaults(run=cmd_users_staff)
    for name, blocked in (("block", True), ("unblock", False)):
        cmd = users.add_parser(name, help=f"{name} a user")
        cmd.add_argument("user_id", type=int)
        cmd.set_defaults(run=cmd_users_block, blocked=blocked)

    stats = groups.add_parser("stats", help="counts of users, applications, reminders")
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


async def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
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
        async with open_process(mongo, ProcessRole.CLI, name="admin-tools") as process:
            command: Command = args.run
            return await command(args, process.storage, process.services)
    except DomainError as error:
        print(f"error: {error.code}: {error}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(sys.argv[1:] if argv is None else argv))
