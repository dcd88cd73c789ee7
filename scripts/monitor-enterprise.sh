#!/usr/bin/env bash
# The SRE's look at the FOK Bot cluster, and its few actions (docs/operations.md, "SRE").
#
#   scripts/monitor-enterprise.sh [--local | --compose] [--json] [--dry-run] COMMAND [ARGS]
#
#   overview | infra | metrics | logs [SVC] [N] | alerts | full | urls
#   restart SVC | scale SVC N | backup
#
# The local cluster (python -m devcluster up) when it runs, or with --local; otherwise the
# compose deployment (docker-compose.enterprise.yml, -p fok --env-file .env.prod). Exit status:
# 0 healthy or done, 1 unhealthy or failed, 2 bad usage or refused. `--help` lists everything.
# A thin entry: the implementation is the Python module ops/monitor.py, run with the project's
# virtualenv (.venv, or PYTHON=...).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-}
if [[ -z $python ]]; then
    if [[ -x $root/.venv/bin/python ]]; then python=$root/.venv/bin/python; else python=python3; fi
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" -m ops.monitor "$@"
