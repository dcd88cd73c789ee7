#!/bin/sh
# Write the final redis.conf of one node: the shipped base config plus this node's port,
# password, memory limit and (cluster nodes) announce address. Runs at container start, before
# the image's entrypoint; the output is mode 600.
#
#   render-config.sh BASE_CONF OUTPUT
#
# Environment:
#   REDIS_PASSWORD            required; 16-256 of A-Z a-z 0-9 _ - (requirepass and masterauth)
#   REDIS_PORT                default 6379
#   REDIS_MAXMEMORY           default 256mb
#   REDIS_BIND                default: the base config's (all interfaces)
#   REDIS_DIR                 default /data (the volume)
#   REDIS_ANNOUNCE_IP         cluster nodes: the fixed address other nodes and clients reach
#   REDIS_ANNOUNCE_HOSTNAME   cluster nodes: the name clients are given (redis-1 ...)
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 BASE_CONF OUTPUT" >&2
    exit 2
fi
base=$1
output=$2
: "${REDIS_PASSWORD:?set REDIS_PASSWORD}"
port=${REDIS_PORT:-6379}
maxmemory=${REDIS_MAXMEMORY:-256mb}

# Checked shapes keep the generated config free of quotes, spaces and directives.
if ! printf '%s' "$REDIS_PASSWORD" | grep -Eq '^[A-Za-z0-9_-]{16,256}$'; then
    echo "$0: REDIS_PASSWORD must be 16-256 characters of A-Z a-z 0-9 _ -" >&2
    exit 1
fi
if ! printf '%s' "$port" | grep -Eq '^[0-9]{1,5}$' || [ "$port" -lt 1 ] || [ "$port" -gt 55535 ]; then
    echo "$0: REDIS_PORT must be a port number up to 55535 (the bus port is port + 10000)" >&2
    exit 1
fi
if ! printf '%s' "$maxmemory" | grep -Eq '^[0-9]+(kb|mb|gb)?$'; then
    echo "$0: REDIS_MAXMEMORY must look like 512mb" >&2
    exit 1
fi
for value in "${REDIS_BIND:-}" "${REDIS_DIR:-}" "${REDIS_ANNOUNCE_IP:-}" "${REDIS_ANNOUNCE_HOSTNAME:-}"; do
    [ -n "$value" ] || continue
    if ! printf '%s\n' "$value" | grep -Eq '^[A-Za-z0-9_./:* -]+$'; then
        echo "$0: unexpected characters in '$value'" >&2
        exit 1
    fi
done
if [ ! -r "$base" ]; then
    echo "$0: cannot read $base" >&2
    exit 1
fi

umask 077
{
    cat "$base"
    echo
    echo "# --- rendered by render-config.sh ---"
    echo "port $port"
    echo "requirepass $REDIS_PASSWORD"
    echo "masterauth $REDIS_PASSWORD"
    echo "maxmemory $maxmemory"
    if [ -n "${REDIS_BIND:-}" ]; then echo "bind $REDIS_BIND"; fi
    echo "dir ${REDIS_DIR:-/data}"
    if [ -n "${REDIS_ANNOUNCE_IP:-}" ]; then
        echo "cluster-announce-ip $REDIS_ANNOUNCE_IP"
        echo "cluster-announce-port $port"
        echo "cluster-announce-bus-port $((port + 10000))"
    fi
    if [ -n "${REDIS_ANNOUNCE_HOSTNAME:-}" ]; then
        echo "cluster-announce-hostname $REDIS_ANNOUNCE_HOSTNAME"
    fi
} >"$output.tmp"
mv "$output.tmp" "$output"
# The image's entrypoint drops to the redis user; it must still read the file.
if [ "$(id -u)" -eq 0 ] && id redis >/dev/null 2>&1; then
    chown redis:redis "$output"
fi
