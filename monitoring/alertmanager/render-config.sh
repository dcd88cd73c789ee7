#!/bin/sh
# Render alertmanager.yml.tmpl with the Telegram bot token read from a secret file.
#
#   render-config.sh TEMPLATE OUTPUT
#
# Environment: TELEGRAM_BOT_TOKEN_FILE (file holding the alert bot's token),
# TELEGRAM_CHAT_ID (the admin chat, e.g. -1001234567890), TEMPLATES_DIR (default: the
# templates/ directory next to this script), TELEGRAM_API_URL (default https://api.telegram.org;
# the tests use the Telegram Bot API emulator). POSIX sh + sed only: it runs inside the Alertmanager
# image before `exec alertmanager --config.file=OUTPUT`. The output is created mode 600.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 TEMPLATE OUTPUT" >&2
    exit 2
fi
template=$1
output=$2
: "${TELEGRAM_BOT_TOKEN_FILE:?set TELEGRAM_BOT_TOKEN_FILE to the file holding the bot token}"
: "${TELEGRAM_CHAT_ID:?set TELEGRAM_CHAT_ID to the admin chat id}"
templates_dir=${TEMPLATES_DIR:-$(cd "$(dirname "$0")" && pwd)/templates}
api_url=${TELEGRAM_API_URL:-https://api.telegram.org}

token=$(tr -d ' \r\n' <"$TELEGRAM_BOT_TOKEN_FILE")
# Validating the shapes keeps sed's replacement safe (no '|', '&' or '\' can get in).
if ! printf '%s' "$token" | grep -Eq '^[0-9]+:[A-Za-z0-9_-]+$'; then
    echo "$0: $TELEGRAM_BOT_TOKEN_FILE does not hold a bot token (digits:letters)" >&2
    exit 1
fi
if ! printf '%s' "$TELEGRAM_CHAT_ID" | grep -Eq '^-?[0-9]+$'; then
    echo "$0: TELEGRAM_CHAT_ID must be an integer chat id" >&2
    exit 1
fi
if ! printf '%s' "$api_url" | grep -Eq '^https?://[A-Za-z0-9.:_/-]+$'; then
    echo "$0: TELEGRAM_API_URL must be an http(s) URL of letters, digits and . : _ / -" >&2
    exit 1
fi
case $templates_dir in
    *'|'* | *'&'* | *'\'*)
        echo "$0: TEMPLATES_DIR may not contain | & or \\" >&2
        exit 1
        ;;
esac

umask 077
sed -e "s|\${TELEGRAM_BOT_TOKEN}|$token|g" \
    -e "s|\${TELEGRAM_CHAT_ID}|$TELEGRAM_CHAT_ID|g" \
    -e "s|\${TEMPLATES_DIR}|$templates_dir|g" \
    -e "s|\${TELEGRAM_API_URL}|$api_url|g" \
    "$template" >"$output.tmp"
if grep -q '\${' "$output.tmp"; then
    echo "$0: unresolved placeholders left in $template:" >&2
    grep -n '\${' "$output.tmp" >&2
    rm -f "$output.tmp"
    exit 1
fi
mv "$output.tmp" "$output"
echo "rendered $output (token from $TELEGRAM_BOT_TOKEN_FILE)"
