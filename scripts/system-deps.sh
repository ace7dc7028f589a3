#!/usr/bin/env bash
# Debian packages the project runs for real (not mocks). Installs the missing ones when it can
# (root with apt-get, as on CI), otherwise says what to install; tests that need a missing binary
# skip with its name. Idempotent.
#
#   scripts/system-deps.sh               Redis (./dev up)
#   scripts/system-deps.sh --containers  also what builds and runs the gateway image (./dev test):
#                                        podman with runc, mmdebstrap (+ arch-test), qemu-user-static and
#                                        binfmt-support for arm64 under emulation (binfmt_misc mounted),
#                                        Debian's docker-registry (a real registry on loopback)
set -euo pipefail
packages=(redis-server)   # a real Redis for LiteLLM's cache and router state in the tests
containers=false
if [ "${1:-}" = "--containers" ]; then
  containers=true
  packages+=(podman runc conmon containernetworking-plugins mmdebstrap arch-test qemu-user-static binfmt-support
             docker-registry)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    # Wait for a concurrent apt (another nox session installing the same packages) instead of failing.
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts services on install where it can; the tests start their own servers.
    if command -v service >/dev/null 2>&1; then
      service redis-server stop >/dev/null 2>&1 || true
      service docker-registry stop >/dev/null 2>&1 || true
    fi
  else
    echo "system-deps: please install ${missing[*]} (e.g. sudo apt-get install ${missing[*]});" \
         "the tests that need them will be skipped until then" >&2
    exit 0
  fi
fi

if $containers && [ "$(id -u)" = "0" ]; then
  # arm64 images build and run under qemu: the kernel needs binfmt_misc and qemu's handler in it.
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null \
      || echo "system-deps: cannot mount binfmt_misc: arm64 images will not build here" >&2
  fi
  if [ -e /proc/sys/fs/binfmt_misc/register ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || update-binfmts --import qemu-aarch64 >/dev/null 2>&1 \
      || echo "system-deps: cannot register qemu-aarch64 with binfmt_misc: arm64 images will not build here" >&2
  fi
fi
