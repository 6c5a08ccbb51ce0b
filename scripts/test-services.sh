#!/usr/bin/env bash
# Start the services the test suite needs on this machine: PostgreSQL (the
# database for several processes) and an OpenSSH server (the std.ssh tests),
# and install the headless Chromium the web console tests drive (Debian's
# chromium, with chromium-driver; Playwright is given it and never downloads
# a browser). Installs them with apt-get when missing (Debian, as root). Idempotent.
set -euo pipefail

need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "test-services: the tests need ${need[*]}; install them (root and apt-get needed here)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# PostgreSQL on loopback, with a role that may create the tests' databases.
cluster=$(pg_lsclusters -h | awk 'NR==1 {print $1" "$2}')
if [ -z "$cluster" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -1)
    pg_createcluster "$version" main >/dev/null
    cluster="$version main"
fi
pg_ctlcluster $cluster start 2>/dev/null || true
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
pg_isready -q -h 127.0.0.1 || { echo "test-services: PostgreSQL did not start" >&2; exit 1; }
su postgres -c "psql -q -c \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'levante')
    THEN CREATE ROLE levante LOGIN PASSWORD 'levante' CREATEDB; END IF; END\\\$\\\$;\""
