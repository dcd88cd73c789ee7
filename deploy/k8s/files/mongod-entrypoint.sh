#!/bin/sh
# Entrypoint of each MongoDB member (mongo image, runs as root, then the image's entrypoint drops
# to the mongodb user). mongod refuses a keyfile readable by others, and a compose secret is a
# bind mount with the host's owner and mode, so copy it with the owner and mode mongod wants.
#
#   mongod-entrypoint.sh mongod --config /opt/fok/mongo/mongod.conf [ARGS...]
set -eu

source_keyfile=${MONGO_KEYFILE_SOURCE:-/run/secrets/mongo_keyfile}
keyfile=${MONGO_KEYFILE:-/data/configdb/keyfile}

if [ ! -s "$source_keyfile" ]; then
    echo "mongod-entrypoint: no keyfile at $source_keyfile (deploy-enterprise.sh generates it)" >&2
    exit 1
fi
install -m 400 -o mongodb -g mongodb "$source_keyfile" "$keyfile"
exec docker-entrypoint.sh "$@"
