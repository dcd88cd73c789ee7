#!/bin/sh
# The Redis Cluster init Job of deploy/k8s: give redis-cluster/init-cluster.sh the six nodes'
# addresses and let it do the rest (create the cluster once, or find it formed). CLUSTER MEET
# takes IP addresses and a pod's changes when it is rescheduled, so each node is asked for the
# address it announces (cluster-announce-ip: its pod IP, set by render-config.sh).
#
# Environment: REDIS_PASSWORD; REDIS_CLUSTER_NAMES "host:port ..." of the six nodes (the first
# three become masters); REDIS_INIT_TIMEOUT_SECONDS (120).
set -eu

: "${REDIS_PASSWORD:?set REDIS_PASSWORD}"
: "${REDIS_CLUSTER_NAMES:?set REDIS_CLUSTER_NAMES to the six host:port names}"
timeout=${REDIS_INIT_TIMEOUT_SECONDS:-120}
REDISCLI_AUTH=$REDIS_PASSWORD
export REDISCLI_AUTH
deadline=$(($(date +%s) + timeout))

announced_ip() { # HOST PORT: the address in the node's own ("myself") line of CLUSTER NODES
    redis-cli -h "$1" -p "$2" cluster nodes 2>/dev/null |
        awk '/myself/ { split($2, address, "@"); sub(/:[0-9]+$/, "", address[1]); print address[1] }'
}

addresses=""
for name in $REDIS_CLUSTER_NAMES; do
    host=${name%:*}
    port=${name##*:}
    ip=$(announced_ip "$host" "$port")
    until [ -n "$ip" ]; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "[redis-cluster-init] error: $name gave no announced address within ${timeout}s" >&2
            exit 1
        fi
        sleep 0.5
        ip=$(announced_ip "$host" "$port")
    done
    addresses="$addresses $ip:$port"
done

REDIS_CLUSTER_ADDRS=${addresses# }
export REDIS_CLUSTER_ADDRS
exec sh "$(dirname "$0")/init-cluster.sh"
