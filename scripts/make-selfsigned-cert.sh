#!/usr/bin/env bash
# Make a throwaway CA and a server certificate signed by it, for local runs and tests.
#
#   scripts/make-selfsigned-cert.sh OUT_DIR [CN]
#
# Writes into OUT_DIR:
#   ca.key, ca.pem          the local CA (trust ca.pem in clients, e.g. httpx verify=ca.pem)
#   server.key, server.pem  the server key and certificate (SAN: CN, localhost, 127.0.0.1, ::1)
#   haproxy.pem             server certificate + CA certificate + server key: what HAProxy's
#                           `crt` wants (point TLS_CERT_PEM at it)
# Never use these in production: the CA key sits next to the certificates.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: $0 OUT_DIR [CN]" >&2
    exit 2
fi
out_dir=$1
common_name=${2:-localhost}
days=${CERT_DAYS:-30}

mkdir -p "$out_dir"
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
    -subj "/CN=FOK Bot local CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$out_dir/ca.key" -out "$out_dir/ca.pem" 2>/dev/null

openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/CN=$common_name" \
    -keyout "$out_dir/server.key" -out "$work/server.csr" 2>/dev/null

# The CN itself, then the loopback names local clients use, each once.
if [[ $common_name =~ ^[0-9.]+$ || $common_name == *:* ]]; then
    names=("IP:$common_name")
else
    names=("DNS:$common_name")
fi
for default_name in DNS:localhost IP:127.0.0.1 IP:::1; do
    [[ " ${names[*]} " == *" $default_name "* ]] || names+=("$default_name")
done
san=$(IFS=,; echo "${names[*]}")
cat >"$work/server.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$san
EXT

openssl x509 -req -sha256 -days "$days" -in "$work/server.csr" \
    -CA "$out_dir/ca.pem" -CAkey "$out_dir/ca.key" -CAcreateserial -CAserial "$work/ca.srl" \
    -extfile "$work/server.ext" -out "$out_dir/server.pem" 2>/dev/null

cat "$out_dir/server.pem" "$out_dir/ca.pem" "$out_dir/server.key" >"$out_dir/haproxy.pem"
chmod 644 "$out_dir/ca.pem" "$out_dir/server.pem"

openssl verify -CAfile "$out_dir/ca.pem" "$out_dir/server.pem" >/dev/null
echo "wrote $out_dir/{ca.pem,ca.key,server.pem,server.key,haproxy.pem} for CN=$common_name"
