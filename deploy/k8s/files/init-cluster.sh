#!/bin/sh
# Create the Redis Cluster once, from six empty nodes; do nothing when it is already formed.
# Runs as the "redis-cluster-init" job of docker-compose.enterprise.yml (and on every deploy).
#
# Environment:
#   REDIS_PASSWORD              the nodes' password (passed to redis-cli as REDISCLI_AUTH)
#   REDIS_CLUSTER_ADDRS         "ip:port ..." of the six nodes; the first three become masters
#   REDIS_INIT_TIMEOUT_SECONDS  default 120
#
# Exit 0: the cluster is formed and every node reports cluster_state:ok. Exit 1: a node does not
# answer, or the nodes are in a state this script must not touch (some joined, some not): see
# docs/operations.md.
set -eu

: "${REDIS_PASSWORD:?set REDIS_PASSWORD}"
: "${REDIS_CLUSTER_ADDRS:?set REDIS_CLUSTER_ADDRS to the six ip:port addresses}"
timeout=${REDIS_INIT_TIMEOUT_SECONDS:-120}
REDISCLI_AUTH=$REDIS_PASSWORD
export REDISCLI_AUTH

log() { echo "[redis-cluster-init] $*"; }
die() {
    echo "[redis-cluster-init] error: $*" >&2
    exit 1
}

# shellcheck disable=SC2086  # the address list is split on spaces on purpose
set -- $REDIS_CLUSTER_ADDRS
count=$#
[ "$count" -ge 6 ] || die "need at least six nodes (three masters, three replicas), got $count"

cli() { # ADDRESS ARGS...: redis-cli against one node
    cli_address=$1
    shift
    redis-cli -h "${cli_address%:*}" -p "${cli_address##*:}" "$@"
}
info_field() { # ADDRESS FIELD: one field of CLUSTER INFO
    cli "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"
}
deadline=$(($(date +%s) + timeout))
wait_until() { # DESCRIPTION COMMAND...: poll COMMAND until it succeeds or the deadline passes
    description=$1
    shift
    until "$@"; do
        [ "$(date +%s)" -lt "$deadline" ] || die "timed out after ${timeout}s waiting for $description"
        sleep 0.5
    done
}
answers() { [ "$(cli "$1" ping 2>/dev/null)" = PONG ]; }
every_node_ok() {
    for address in "$@"; do
        [ "$(info_field "$address" cluster_state)" = ok ] || return 1
        [ "$(info_field "$address" cluster_known_nodes)" = "$count" ] || return 1
    done
}

for address in "$@"; do
    wait_until "$address to answer PING" answers "$address"
done

fresh=0
for address in "$@"; do
    known=$(info_field "$address" cluster_known_nodes)
    slots=$(info_field "$address" cluster_slots_assigned)
    if [ "$known" = 1 ] && [ "$slots" = 0 ]; then
        fresh=$((fresh + 1))
    fi
done

if [ "$fresh" -eq "$count" ]; then
    log "creating the cluster: $*"
    redis-cli --cluster create "$@" --cluster-replicas 1 --cluster-yes
elif [ "$fresh" -eq 0 ]; then
    log "the nodes already form a cluster"
else
    die "$fresh of $count nodes are empty and the others are not: a node lost its data. Not touching it; see docs/operations.md (Redis Cluster node replaced)"
fi

wait_until "every node to report cluster_state:ok with $count nodes" every_node_ok "$@"
redis-cli --cluster check "$1" >/dev/null || die "redis-cli --cluster check $1 failed"
log "ready: $count nodes, cluster_state:ok"
