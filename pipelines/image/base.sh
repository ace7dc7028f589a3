#!/bin/sh
# The gateway image's base step: Debian bookworm for one architecture, built from Debian's own
# packages by mmdebstrap (no pulled image). Writes the root filesystem as a tarball and, beside it,
# the package manifest (name, version, architecture per line), which the build records with the image.
#
#   pipelines/image/base.sh ARCH OUT.tar [EXTRA]  ARCH: amd64 | arm64 (arm64 on amd64 needs qemu-user-static)
#                                                 EXTRA: more Debian packages, comma-separated (the
#                                                 pipeline harness's stage image: git, redis-server ...)
#
# SOURCE_DATE_EPOCH, when set, makes mmdebstrap's tarball reproducible for the same package versions.
set -eu
arch="$1"
out="$2"
extra="${3:-}"
case "$extra" in
  *[!a-z0-9.+,-]*) echo "base.sh: EXTRA must be Debian package names separated by commas, got '$extra'" >&2; exit 2 ;;
esac
# python3 and python3-venv: Debian's interpreter and venv (the image's Python); ca-certificates for
# TLS to Bedrock and Redis; tini: the init that runs as PID 1. Documentation and man pages are left
# out (copyright files stay).
mmdebstrap --quiet --variant=minbase --architectures="$arch" \
  --include=python3,python3-venv,ca-certificates,tini${extra:+,$extra} \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='dpkg-query --admindir="$1/var/lib/dpkg" -W -f="\${Package}\t\${Version}\t\${Architecture}\n" | LC_ALL=C sort > "'"$out"'.packages"' \
  bookworm "$out"
