#!/bin/sh
# Role dispatcher of the fok-bot image: the first argument names the role, the rest go to it.
#
#   web                 gunicorn -c bot/web/gunicorn_conf.py bot.web.asgi:app
#   worker [ARGS...]    celery -A workers.celery_app worker ARGS (e.g. -Q notifications)
#   beat [ARGS...]      celery -A workers.celery_app beat ARGS (RedBeat scheduler)
#   cli ARGS...         scripts/admin_tools.py ARGS (db migrate, webhook set, ...)
#
# FOK_HOME is where bot/, workers/ and scripts/ live (/app in the image).
set -eu

home=${FOK_HOME:-/app}
cd "$home"

if [ $# -eq 0 ]; then
    set -- web
fi
role=$1
shift

case $role in
    web)
        # The multiprocess metrics directory starts empty (gunicorn_conf also wipes it).
        exec gunicorn -c bot/web/gunicorn_conf.py bot.web.asgi:app "$@"
        ;;
    worker)
        if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
            # Samples of an earlier run would be summed into this one's.
            rm -rf "$PROMETHEUS_MULTIPROC_DIR"
            mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
        fi
        exec celery -A workers.celery_app worker --pool prefork --without-gossip --without-mingle "$@"
        ;;
    beat)
        # RedBeat keeps the schedule in the broker; the local file is only celery's bookkeeping.
        exec celery -A workers.celery_app beat --schedule "${TMPDIR:-/tmp}/celerybeat-schedule" "$@"
        ;;
    cli)
        exec python scripts/admin_tools.py "$@"
        ;;
    *)
        echo "fok-entrypoint: unknown role '$role' (web, worker, beat or cli)" >&2
        exit 2
        ;;
esac
