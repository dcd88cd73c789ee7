#!/usr/bin/env bash
# Deploy (or redeploy) the production cluster of docker-compose.enterprise.yml, in order, waiting
# on health at each step. Safe to run again: every step is idempotent.
#
#   scripts/deploy-enterprise.sh [--dry-run] [--env-file FILE] [--skip-telegram]
#
#   --dry-run        print the ordered plan (every command) and change nothing; docker is not run
#   --env-file FILE  the environment (default .env.prod; see .env.prod.example)
#   --skip-telegram  do not call setWebhook / setMyCommands (a rehearsal without the real bot)
#
# Steps: preflight (docker, compose v2, the env file complete, ports free, disk), certificate
# (FOK_TLS_PEM or a self-signed one), secrets (MongoDB keyfile, token and password files under
# FOK_DEPLOY_DIR), validation (compose config, haproxy -c in the HAProxy image), images, data
# tier, replica set and Redis Cluster initialisation, index migrations, monitoring, bots and
# workers, the edge, the Telegram webhook and commands, and a health report.
# Runbook: docs/operations.md, "Deploy".
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
compose_file=$root/docker-compose.enterprise.yml
example_file=$root/.env.prod.example
env_file=$root/.env.prod
project=${COMPOSE_PROJECT_NAME:-fok}
dry_run=false
skip_telegram=false
wait_seconds=${FOK_WAIT_SECONDS:-600}

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --dry-run) dry_run=true ;;
        --skip-telegram) skip_telegram=true ;;
        --env-file)
            [[ $# -ge 2 ]] || { usage >&2; exit 2; }
            env_file=$2
            shift
            ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
    shift
done

# Absolute, so the plan shows where the environment comes from.
if [[ -r $env_file ]]; then
    env_file=$(cd "$(dirname "$env_file")" && pwd)/$(basename "$env_file")
fi

DATA_SERVICES=(mongo-1 mongo-2 mongo-3 redis-1 redis-2 redis-3 redis-4 redis-5 redis-6 redis-broker)
MONITORING_SERVICES=(node-exporter cadvisor redis-exporter mongodb-exporter celery-exporter
    prometheus alertmanager loki alloy grafana)
APP_SERVICES=(bot worker-notifications worker-reminders worker-reports worker-backups beat)
EDGE_SERVICES=(haproxy)
JOB_SERVICES=(mongo-init redis-cluster-init)
# Set and well-formed before anything starts (the compose file refuses most of them empty too).
REQUIRED=(TELEGRAM_BOT_TOKEN TELEGRAM_WEBHOOK_SECRET TELEGRAM_WEBHOOK_URL MONGO_ROOT_PASSWORD
    MONGO_APP_PASSWORD MONGO_EXPORTER_PASSWORD MONGO_BACKUP_PASSWORD REDIS_PASSWORD
    BROKER_REDIS_PASSWORD STATS_PASSWORD GRAFANA_ADMIN_PASSWORD ALERT_TELEGRAM_CHAT_ID)
# They end up in URLs and config files: only characters that need no quoting anywhere.
PASSWORDS=(MONGO_ROOT_PASSWORD MONGO_APP_PASSWORD MONGO_EXPORTER_PASSWORD MONGO_BACKUP_PASSWORD
    REDIS_PASSWORD BROKER_REDIS_PASSWORD STATS_PASSWORD GRAFANA_ADMIN_PASSWORD)
# Published on MGMT_BIND_ADDR (the stats page and the monitoring UIs).
MGMT_PORTS=(8404 9090 9093 3000)

log() { printf '[deploy] %s\n' "$*"; }
die() {
    printf '[deploy] error: %s\n' "$*" >&2
    exit 1
}
step_number=0
step() {
    step_number=$((step_number + 1))
    printf '\n== step %d: %s\n' "$step_number" "$*"
}
# run COMMAND...: show it, and run it unless this is a dry run.
run() {
    printf '+ %s\n' "$*"
    if [[ $dry_run == false ]]; then
        "$@"
    fi
}

# env_get NAME: the value NAME has in the env file ('' when absent); never sourced as shell.
env_get() {
    local name=$1 line value=""
    [[ -r $env_file ]] || { printf ''; return; }
    while IFS= read -r line || [[ -n $line ]]; do
        if [[ $line == "$name="* ]]; then
            value=${line#"$name="}
        fi
    done <"$env_file"
    value=${value%\"}
    value=${value#\"}
    printf '%s' "$value"
}

compose_cmd=(docker compose)
compose() { run "${compose_cmd[@]}" -p "$project" --env-file "$env_file" -f "$compose_file" "$@"; }
# For reading state (not shown in the plan).
compose_quiet() { "${compose_cmd[@]}" -p "$project" --env-file "$env_file" -f "$compose_file" "$@"; }

deploy_dir_setting=$(env_get FOK_DEPLOY_DIR)
deploy_dir_setting=${deploy_dir_setting:-./var/deploy}
# Compose resolves relative paths against the compose file's directory: do the same.
if [[ $deploy_dir_setting == /* ]]; then deploy_dir=$deploy_dir_setting; else deploy_dir=$root/${deploy_dir_setting#./}; fi
tls_dir=$deploy_dir/tls
secrets_dir=$deploy_dir/secrets
bot_replicas=$(env_get BOT_REPLICAS)
bot_replicas=${bot_replicas:-3}
mgmt_addr=$(env_get MGMT_BIND_ADDR)
mgmt_addr=${mgmt_addr:-127.0.0.1}

# --- checks used by the preflight --------------------------------------------------------------
problems=()
check_env_file() {
    [[ -r $env_file ]] || { problems+=("$env_file does not exist (copy .env.prod.example)"); return; }
    local line name
    while IFS= read -r line; do
        [[ -z $line || $line == \#* ]] && continue
        name=${line%%=*}
        grep -q "^$name=" "$env_file" || problems+=("$name is missing from $env_file (see .env.prod.example)")
    done <"$example_file"
    for name in "${REQUIRED[@]}"; do
        [[ -n $(env_get "$name") ]] || problems+=("$name is empty in $env_file")
    done
    for name in "${PASSWORDS[@]}"; do
        local value
        value=$(env_get "$name")
        if [[ -n $value && ! $value =~ ^[A-Za-z0-9_-]{16,256}$ ]]; then
            problems+=("$name must be 16-256 characters of A-Z a-z 0-9 _ - (openssl rand -hex 24)")
        fi
    done
    [[ $(env_get TELEGRAM_WEBHOOK_URL) == https://* ]] || problems+=("TELEGRAM_WEBHOOK_URL must be an https:// URL")
    local replicas
    replicas=$(env_get BOT_REPLICAS)
    if [[ -n $replicas ]] && ! [[ $replicas =~ ^[0-9]+$ && $replicas -ge 1 && $replicas -le 10 ]]; then
        problems+=("BOT_REPLICAS must be 1-10 (haproxy.compose.cfg has 10 server slots)")
    fi
}

check_port_free() { # ADDRESS PORT
    local address=$1 port=$2 listeners
    listeners=$(ss -Hltn "sport = :$port" 2>/dev/null || true)
    [[ -z $listeners ]] && return 0
    if [[ $address == "*" ]] || grep -Eq "(^|[[:space:]])(\*|0\.0\.0\.0|\[::\]|$address):${port}[[:space:]]" <<<"$listeners"; then
        problems+=("port $port is already in use on ${address/\*/every address}")
    fi
}

check_disk() { # DIRECTORY
    local directory=$1 need_gb free_kb
    need_gb=$(env_get FOK_MIN_FREE_GB)
    need_gb=${need_gb:-10}
    free_kb=$(df -Pk "$directory" | awk 'NR == 2 { print $4 }')
    if ((free_kb < need_gb * 1024 * 1024)); then
        problems+=("$directory has $((free_kb / 1024 / 1024)) GiB free, FOK_MIN_FREE_GB asks for $need_gb")
    fi
}

# wait_healthy SERVICE...: until every container of each service reports healthy.
wait_healthy() {
    printf '+ wait until healthy: %s\n' "$*"
    [[ $dry_run == true ]] && return 0
    local deadline=$((SECONDS + wait_seconds)) service containers container state pending
    while :; do
        pending=()
        for service in "$@"; do
            containers=$(compose_quiet ps -q "$service")
            if [[ -z $containers ]]; then
                pending+=("$service (no container)")
                continue
            fi
            for container in $containers; do
                state=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$container")
                case $state in
                    healthy) ;;
                    exited | dead) die "$service stopped ($state): docker compose -p $project logs $service" ;;
                    *) pending+=("$service ($state)") ;;
                esac
            done
        done
        [[ ${#pending[@]} -eq 0 ]] && return 0
        if ((SECONDS >= deadline)); then
            die "still not healthy after ${wait_seconds}s: ${pending[*]} (docker compose -p $project logs SERVICE)"
        fi
        sleep 2
    done
}

# --- 1. preflight ------------------------------------------------------------------------------
step "preflight: docker, compose v2, $env_file complete, ports free, disk"
check_env_file
if [[ $dry_run == true ]]; then
    log "dry run: docker is not called; env file checks: ${#problems[@]} problem(s)"
    for problem in "${problems[@]}"; do log "  would stop: $problem"; done
    problems=()
else
    command -v docker >/dev/null 2>&1 || die "docker is not installed"
    docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info)"
    docker compose version >/dev/null 2>&1 || die "needs Docker Compose v2 (docker compose)"
    command -v openssl >/dev/null 2>&1 || die "openssl is not installed"
    if [[ -z $(compose_quiet ps -q 2>/dev/null) ]]; then
        check_port_free "*" 80
        check_port_free "*" 443
        for port in "${MGMT_PORTS[@]}"; do check_port_free "$mgmt_addr" "$port"; done
    else
        log "redeploy: the project is running, its ports are its own"
    fi
    check_disk "$root"
    check_disk "$(docker info -f '{{.DockerRootDir}}')"
    for mount in haproxy/haproxy.compose.cfg mongo redis-cluster monitoring/prometheus/prometheus.yml \
        monitoring/alertmanager/alertmanager.yml.tmpl monitoring/loki/loki.yml \
        monitoring/alloy/config.alloy monitoring/grafana/provisioning monitoring/grafana/dashboards; do
        [[ -e $root/$mount ]] || problems+=("$mount is missing (mounted into a container)")
    done
    if [[ ${#problems[@]} -gt 0 ]]; then
        printf '[deploy] preflight failed:\n' >&2
        printf '  - %s\n' "${problems[@]}" >&2
        exit 1
    fi
    log "preflight passed"
fi

# --- 2. certificate ----------------------------------------------------------------------------
webhook_host=$(env_get TELEGRAM_WEBHOOK_URL)
webhook_host=${webhook_host#https://}
webhook_host=${webhook_host%%/*}
webhook_host=${webhook_host%%:*}
tls_pem=$(env_get FOK_TLS_PEM)
self_signed=false
step "certificate: ${tls_pem:-self-signed for ${webhook_host:-?}} -> $tls_dir/haproxy.pem"
run install -d -m 700 "$deploy_dir" "$tls_dir" "$secrets_dir"
if [[ -n $tls_pem ]]; then
    if [[ $dry_run == false ]]; then
        openssl x509 -in "$tls_pem" -noout 2>/dev/null || die "FOK_TLS_PEM $tls_pem holds no certificate"
        openssl pkey -in "$tls_pem" -noout 2>/dev/null || die "FOK_TLS_PEM $tls_pem holds no private key"
    fi
    # Readable by the haproxy user inside the container; the directory above is root-only.
    run install -m 644 "$tls_pem" "$tls_dir/haproxy.pem"
    run sh -c "openssl x509 -in '$tls_pem' > '$tls_dir/webhook-ca.pem'"
    [[ $dry_run == true ]] || rm -f "$tls_dir/self-signed"
elif [[ -f $tls_dir/self-signed && -f $tls_dir/haproxy.pem ]] \
    && openssl x509 -in "$tls_dir/haproxy.pem" -noout -checkend $((30 * 86400)) >/dev/null 2>&1; then
    log "keeping the self-signed certificate in $tls_dir (valid for 30 days more at least)"
    self_signed=true
else
    [[ -n $webhook_host ]] || die "TELEGRAM_WEBHOOK_URL names no host for the certificate"
    run env CERT_DAYS=365 "$root/scripts/make-selfsigned-cert.sh" "$tls_dir/self-signed-ca" "$webhook_host"
    run install -m 644 "$tls_dir/self-signed-ca/haproxy.pem" "$tls_dir/haproxy.pem"
    run install -m 644 "$tls_dir/self-signed-ca/ca.pem" "$tls_dir/webhook-ca.pem"
    run touch "$tls_dir/self-signed"
    self_signed=true
fi

# --- 3. secrets --------------------------------------------------------------------------------
step "secrets: MongoDB keyfile (once), alert bot token, redis_exporter passwords -> $secrets_dir"
if [[ -s $secrets_dir/mongo-keyfile ]]; then
    log "keeping the MongoDB keyfile (replacing it needs every member restarted at once)"
else
    run sh -c "umask 077 && openssl rand -base64 756 > '$secrets_dir/mongo-keyfile'"
fi
write_secret() { # FILE CONTENT: mode 644 inside the root-only secrets directory (the containers
    # run as their own users and must read the bind mount)
    printf '+ write %s\n' "$1"
    if [[ $dry_run == false ]]; then
        (umask 022 && printf '%s' "$2" >"$1.tmp" && mv "$1.tmp" "$1")
    fi
}
alert_token=$(env_get ALERT_TELEGRAM_BOT_TOKEN)
write_secret "$secrets_dir/alert-bot-token" "${alert_token:-$(env_get TELEGRAM_BOT_TOKEN)}"
redis_password=$(env_get REDIS_PASSWORD)
exporter_passwords="{"
for node in 1 2 3 4 5 6; do
    exporter_passwords+="\"redis://redis-$node:6379\": \"$redis_password\", "
done
exporter_passwords+="\"redis://redis-broker:6379\": \"$(env_get BROKER_REDIS_PASSWORD)\"}"
write_secret "$secrets_dir/redis-exporter-passwords.json" "$exporter_passwords"

# --- 4. validation -----------------------------------------------------------------------------
step "validate: compose file, HAProxy config inside the HAProxy image"
compose --profile tools config -q
compose run --rm --no-deps --entrypoint haproxy haproxy -c -f /usr/local/etc/haproxy/haproxy.cfg

# --- 5. images ---------------------------------------------------------------------------------
step "images: pull the pinned ones, build fok-bot"
compose pull --quiet "${DATA_SERVICES[@]}" "${JOB_SERVICES[@]}" "${MONITORING_SERVICES[@]}" "${EDGE_SERVICES[@]}"
compose build bot

# --- 6. data tier ------------------------------------------------------------------------------
step "data: MongoDB members, Redis Cluster nodes, broker"
compose up -d --no-deps "${DATA_SERVICES[@]}"
wait_healthy "${DATA_SERVICES[@]}"

# --- 7. initialisation -------------------------------------------------------------------------
step "initialise: replica set fok-rs and its users, Redis Cluster (both idempotent)"
compose run --rm --no-deps mongo-init
compose run --rm --no-deps redis-cluster-init

# --- 8. migrations -----------------------------------------------------------------------------
step "migrate: index migrations (admin_tools.py db migrate, cli role)"
compose run --rm --no-deps cli cli db migrate

# --- 9. monitoring -----------------------------------------------------------------------------
step "monitoring: exporters, Prometheus, Alertmanager, Loki, Alloy, Grafana"
compose up -d --no-deps "${MONITORING_SERVICES[@]}"
wait_healthy "${MONITORING_SERVICES[@]}"

# --- 10. application ---------------------------------------------------------------------------
step "application: $bot_replicas bot replicas, workers per queue, two beats"
compose up -d --no-deps --scale "bot=$bot_replicas" "${APP_SERVICES[@]}"
wait_healthy "${APP_SERVICES[@]}"

# --- 11. edge ----------------------------------------------------------------------------------
step "edge: HAProxy on 80/443"
compose up -d --no-deps "${EDGE_SERVICES[@]}"
wait_healthy "${EDGE_SERVICES[@]}"

# --- 12. Telegram ------------------------------------------------------------------------------
step "telegram: setWebhook and setMyCommands"
if [[ $skip_telegram == true ]]; then
    log "skipped (--skip-telegram)"
elif [[ $self_signed == true ]]; then
    # Telegram must be given the certificate it cannot verify on its own.
    compose run --rm --no-deps -e TELEGRAM_WEBHOOK_CA_FILE=/run/fok-tls/webhook-ca.pem cli cli webhook set
    compose run --rm --no-deps cli cli commands publish
else
    compose run --rm --no-deps cli cli webhook set
    compose run --rm --no-deps cli cli commands publish
fi

# --- 13. report --------------------------------------------------------------------------------
step "report: health of every service, webhook, bots in rotation"
compose ps
wait_healthy "${DATA_SERVICES[@]}" "${MONITORING_SERVICES[@]}" "${APP_SERVICES[@]}" "${EDGE_SERVICES[@]}"
if [[ $skip_telegram == false ]]; then
    compose run --rm --no-deps cli cli webhook info
fi
printf '+ bots in rotation (haproxy_backend_active_servers{proxy="bots"})\n'
if [[ $dry_run == false ]]; then
    active=$(compose_quiet exec -T haproxy wget -qO- http://127.0.0.1:8405/metrics \
        | awk '/^haproxy_backend_active_servers\{proxy="bots"\}/ { print $2 }')
    [[ ${active:-0} -ge $bot_replicas ]] || die "HAProxy has ${active:-0} of $bot_replicas bots in rotation"
    log "deployed: every service healthy, $active bots in rotation, stats on http://$mgmt_addr:8404/"
else
    log "dry run: nothing was changed"
fi
