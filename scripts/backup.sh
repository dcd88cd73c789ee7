#!/bin/sh
# Back up the FOK bot's database into BACKUP_DIRECTORY (or --dir DIR), then apply retention.
#
#   scripts/backup.sh [--dir DIR]
#
# A thin wrapper over `scripts/admin_tools.py backup`: the same code as the nightly fok.backup
# task. Configuration comes from the environment, as for the bot: MONGO_URL, MONGO_DATABASE,
# BACKUP_DIRECTORY, BACKUP_RETENTION_COUNT, BACKUP_RETENTION_DAYS. A progress bar is drawn only
# on a terminal. Exit status: 0 written, 1 failed, 2 bad configuration or arguments.
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
exec "${PYTHON:-python3}" "$here/admin_tools.py" backup "$@"
