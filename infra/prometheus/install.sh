#!/usr/bin/env bash
# Installs a real Prometheus server (Debian's `prometheus` package) for the scrape tests in
# test/src/prometheus.test.ts. Idempotent: does nothing when `prometheus` is already on PATH.
#
# Tests start their own Prometheus on a free loopback port with a temporary data directory, so
# the package's system service must not run: a policy-rc.d that denies every start is in place
# for the duration of the install, and any daemon the package still managed to start is stopped
# and disabled afterwards. Needs root (or sudo) and a reachable Debian mirror.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1; then
  echo "prometheus already installed: $(command -v prometheus)"
  prometheus --version 2>&1 | sed -n 1p
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "infra/prometheus/install.sh: installing the prometheus package needs root; run it as root or install sudo" >&2
    exit 1
  fi
fi

POLICY=/usr/sbin/policy-rc.d
BACKUP=""
restore_policy() {
  if [ -n "$BACKUP" ]; then
    "${SUDO[@]}" mv -f "$BACKUP" "$POLICY"
  else
    "${SUDO[@]}" rm -f "$POLICY"
  fi
}
# invoke-rc.d consults policy-rc.d before starting a service; exit code 101 means "not allowed".
if [ -e "$POLICY" ]; then
  BACKUP="$(mktemp /usr/sbin/policy-rc.d.sluice-backup.XXXXXX)"
  "${SUDO[@]}" cp -p "$POLICY" "$BACKUP"
fi
trap restore_policy EXIT
printf '#!/bin/sh\n# written by sluice infra/prometheus/install.sh for the duration of the install\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
"${SUDO[@]}" chmod 755 "$POLICY"

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus

# Belt and braces: if a service manager started the daemon anyway, stop it and keep it off, so
# nothing of ours occupies port 9090 or writes to /var/lib/prometheus behind the tests' back.
if command -v systemctl >/dev/null 2>&1; then
  # `disable` also works offline (no running systemd); `stop` only matters on a booted one.
  "${SUDO[@]}" systemctl disable prometheus.service >/dev/null 2>&1 || true
  [ -d /run/systemd/system ] && "${SUDO[@]}" systemctl stop prometheus.service >/dev/null 2>&1 || true
fi
if [ -x /etc/init.d/prometheus ]; then
  "${SUDO[@]}" /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  command -v update-rc.d >/dev/null 2>&1 && "${SUDO[@]}" update-rc.d prometheus disable >/dev/null 2>&1 || true
fi

if ! command -v prometheus >/dev/null 2>&1; then
  echo "infra/prometheus/install.sh: the prometheus package installed but no prometheus binary is on PATH" >&2
  exit 1
fi
prometheus --version 2>&1 | sed -n 1p
