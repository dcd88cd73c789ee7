#!/bin/sh
# Restore a backup archive made by scripts/backup.sh (or the nightly fok.backup task).
#
#   scripts/restore.sh ARCHIVE [--replace] [--database NAME] [--check]
#
# A thin wrapper over `scripts/admin_tools.py restore`. The whole archive is verified first
# (checksums, counts, format and schema version) and nothing is written if any check fails. A
# database that holds documents is restored over only with --replace; --check verifies and stops.
# Stop the bot and the workers first. Configuration: MONGO_URL, MONGO_DATABASE (or --database).
# Exit status: 0 restored (or intact), 1 refused or failed, 2 bad configuration or arguments.
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
exec "${PYTHON:-python3}" "$here/admin_tools.py" restore "$@"
