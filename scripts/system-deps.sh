#!/usr/bin/env bash
# Debian packages the test suite runs for real (not mocks). Installs the missing ones when it can
# (root with apt-get, as on CI), otherwise says what to install; tests that need a missing binary
# skip with its name.
set -euo pipefail
packages=(redis-server)   # a real Redis for LiteLLM's cache and router state in the tests

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts the service on install where it can; the tests start their own servers.
  command -v service >/dev/null 2>&1 && service redis-server stop >/dev/null 2>&1 || true
else
  echo "system-deps: please install ${missing[*]} (e.g. sudo apt-get install ${missing[*]});" \
       "the tests that need them will be skipped until then" >&2
fi
