#!/usr/bin/env bash
# Install stackfile on Debian 12 (or Ubuntu 22.04+), as root, from this checkout:
#   1. the system packages stackfile runs with (busybox-static is the `busybox` base image,
#      nftables/iptables program published ports and the bridge firewall), plus those the test
#      suite drives (iproute2, util-linux, procps, debootstrap, a docker-registry with htpasswd and
#      openssl for the registry tests) and curl for the quick start;
#   2. a virtual environment in ./.venv (Debian's python3 refuses `pip install` as root, PEP 668)
#      holding stackfile and its test extras, at the versions pinned in constraints.txt.
# CI (.ci/run) installs with this same script, so a user gets what CI tested.
# Afterwards: .venv/bin/stackfile ...   and   .venv/bin/python -m pytest -q
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1

RUNTIME_PACKAGES="busybox-static nftables iptables"
TEST_PACKAGES="iproute2 util-linux procps debootstrap curl ca-certificates python3-venv bash
  docker-registry apache2-utils openssl"  # a real registry (distribution 2.8), htpasswd, a test CA

if [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (stackfile drives namespaces, mounts, cgroups and bridges)" >&2
  exit 1
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $RUNTIME_PACKAGES $TEST_PACKAGES >/dev/null
# the tests start their own registries on loopback; the package's service must not hold port 5000
if command -v systemctl >/dev/null && systemctl is-enabled docker-registry >/dev/null 2>&1; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

python3 -m venv .venv
# compat mode: a plain path entry instead of an import hook (the hook costs ~13 ms per CLI start)
.venv/bin/pip install -q -c constraints.txt -e '.[test,daemon]' --config-settings editable_mode=compat
# byte-compile once: the CLI starts in a few ms more without it, and tests start it hundreds of times
.venv/bin/python -m compileall -q stackfile
echo "installed: $(.venv/bin/stackfile --version 2>/dev/null || echo stackfile) in $(pwd)/.venv"
