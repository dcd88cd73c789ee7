#!/usr/bin/env bash
# Regenerate the staff guide's screenshots (docs/img/staff-guide/*.png, docs/staff-guide.md):
# runs the browser test of the staff side (tests/browser/test_staff_journey_in_browser.py) on a
# local cluster of its own, in a temp run dir, with FOK_WRITE_GUIDE_SCREENSHOTS=1, so every
# screen it checks is also saved as a PNG. About a minute and a half; needs what `make install`
# installs (Debian's chromium, the emoji and DejaVu fonts, redis, haproxy, prometheus...).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f docs/img/staff-guide/*.png
FOK_WRITE_GUIDE_SCREENSHOTS=1 exec .venv/bin/pytest tests/browser/test_staff_journey_in_browser.py \
  -q -p no:cacheprovider "$@"
