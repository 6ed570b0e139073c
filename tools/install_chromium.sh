#!/usr/bin/env bash
# The browser tests drive Debian's Chromium with Playwright (no browser download).
# Install it through apt when it is missing and we are root; otherwise say why
# the browser tests will be skipped. Never fails the set-up.
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Chromium for the browser tests (apt-get)..."
    if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/tmp/course-chromium.log 2>&1; then
        exit 0
    fi
    echo "apt-get could not install chromium (see /tmp/course-chromium.log); browser tests will be skipped."
else
    echo "No /usr/bin/chromium and no root apt-get: browser tests will be skipped (install chromium to run them)."
fi
exit 0
