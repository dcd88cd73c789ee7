#!/usr/bin/env bash
# Installs everything `make test` and `make demo` need on Debian/Ubuntu, then the Python
# environment (.venv, Python 3.11) from uv.lock. Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[install] %s\n' "$*"; }
die() { printf '[install] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

# --- system programs -------------------------------------------------------------------------
# command -> Debian package providing it
declare -A PACKAGE_OF=(
  [redis-server]=redis-server
  [redis-cli]=redis-tools
  [haproxy]=haproxy
  [prometheus]=prometheus
  [promtool]=prometheus
  [prometheus-alertmanager]=prometheus-alertmanager
  [amtool]=prometheus-alertmanager
  [prometheus-node-exporter]=prometheus-node-exporter
  [prometheus-redis-exporter]=prometheus-redis-exporter
  [chromium]=chromium
  [openssl]=openssl
  # Deployment gates (scripts/check-configs.sh, tests/deploy): Debian's docker-compose 1.29
  # validates docker-compose.enterprise.yml without a Docker engine; shellcheck lints the scripts.
  [docker-compose]=docker-compose
  [shellcheck]=shellcheck
  # node --check on mongo/init-replica-set.js (mongosh runs JavaScript; no mongod here).
  [node]=nodejs
)

missing_packages=()

for command_name in "${!PACKAGE_OF[@]}"; do
  if ! command -v "$command_name" >/dev/null 2>&1; then
    package="${PACKAGE_OF[$command_name]}"
    case " ${missing_packages[*]} " in
      *" $package "*) ;;
      *) missing_packages+=("$package") ;;
    esac
  fi
done

# Fonts for the browser test's screenshots of the chat page: Cyrillic text and the emoji in the
# bot's buttons (without them Chromium draws empty boxes).
if ! { command -v fc-list >/dev/null 2>&1 && fc-list | grep -q "Noto Color Emoji"; }; then
  missing_packages+=(fontconfig fonts-noto-color-emoji fonts-dejavu-core)
fi

# The newest supported Python the machine has (pyproject: >=3.11,<3.14): Debian 13's python3 is
# 3.13, Debian 12's 3.11; interpreters installed by pyenv count even when pyenv has not selected
# them (their shims then refuse to run, so each candidate is run, not only looked up).
supported_python='import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))'
pick_python() {
  python_for_venv=""
  best_version=""
  pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
  for candidate in python3.13 python3.12 python3.11 python3 \
    "$pyenv_root"/versions/3.13*/bin/python3.13 "$pyenv_root"/versions/3.12*/bin/python3.12; do
    if { command -v "$candidate" >/dev/null 2>&1 || [ -x "$candidate" ]; } \
      && "$candidate" -c "$supported_python" 2>/dev/null; then
      version="$("$candidate" -c 'import sys; print("%d.%02d" % sys.version_info[:2])')"
      if [[ -z $best_version || $version > $best_version ]]; then
        best_version=$version
        # The real interpreter, not a pyenv shim: uv compares it with the one .venv was made from.
        python_for_venv="$("$candidate" -c 'import sys; print(sys.executable)')"
      fi
    fi
  done
}
pick_python
if ! command -v python3 >/dev/null 2>&1; then
  missing_packages+=(python3 python3-venv)
elif ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1 && ! command -v uv >/dev/null 2>&1; then
  missing_packages+=(python3-venv)
fi

if [ "${#missing_packages[@]}" -gt 0 ]; then
  log "installing system packages: ${missing_packages[*]}"
  # The local cluster runs its own servers on free ports. Keep Debian's postinst scripts from
  # starting the packaged daemons (they would squat default ports, and in containers without
  # an init system their start fails and aborts apt). Only our own temporary policy is removed.
  policy=/usr/sbin/policy-rc.d
  placed_policy=false
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    placed_policy=true
  fi
  cleanup_policy() { if [ "$placed_policy" = true ]; then as_root rm -f "$policy"; fi; }
  trap cleanup_policy EXIT
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing_packages[@]}"
  cleanup_policy
  trap - EXIT
else
  log "system packages present"
fi

[ -n "$python_for_venv" ] || pick_python  # python3 may have just been installed

for command_name in "${!PACKAGE_OF[@]}"; do
  command -v "$command_name" >/dev/null 2>&1 || die "$command_name still missing after apt-get"
done

# --- uv ----------------------------------------------------------------------------------------
bootstrap_dir=var/bootstrap
if command -v uv >/dev/null 2>&1; then
  uv_bin="$(command -v uv)"
elif [ -x "$bootstrap_dir/bin/uv" ]; then
  uv_bin="$bootstrap_dir/bin/uv"
else
  log "installing uv into $bootstrap_dir (a private venv; the system Python stays untouched)"
  python3 -m venv "$bootstrap_dir"
  "$bootstrap_dir/bin/pip" install -q 'uv>=0.5,<1'
  uv_bin="$bootstrap_dir/bin/uv"
fi

# --- the project's virtualenv ------------------------------------------------------------------
venv_python="$(.venv/bin/python -c 'import sys; print(sys.executable)' 2>/dev/null || true)"
if [ -n "$venv_python" ] && .venv/bin/python -c "$supported_python" 2>/dev/null \
  && { [ -z "$python_for_venv" ] || [ "$(.venv/bin/python -c 'import sys; print("%d.%02d" % sys.version_info[:2])')" = "$best_version" ]; }; then
  # Keep the existing venv as it is; naming another interpreter would make uv rebuild it.
  unset UV_PYTHON
elif [ -n "$python_for_venv" ]; then
  export UV_PYTHON="$python_for_venv"
else
  die "no Python 3.11-3.13 found (Debian: apt-get install python3 python3-venv)"
fi
log "uv sync --frozen --all-extras (Python: ${UV_PYTHON:-the one in .venv})"
"$uv_bin" sync --frozen --all-extras

.venv/bin/python -c "$supported_python" \
  || die ".venv is not Python 3.11-3.13; remove .venv and run again"
log "ready: .venv ($(.venv/bin/python --version)), $(redis-server --version | cut -d' ' -f3), $(haproxy -v | head -1 | cut -d' ' -f1-3)"
