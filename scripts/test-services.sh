#!/usr/bin/env bash
# Start the services the test suite needs on this machine: PostgreSQL (the
# database for several processes), an OpenSSH server (the std.ssh and ansible
# tests) and RabbitMQ (event triggers on OpenStack notifications, on
# 127.0.0.1:5672 with the guest account, which RabbitMQ allows on loopback
# only), and install the headless Chromium the web console tests drive
# (Debian's chromium, with chromium-driver; Playwright is given it and never
# downloads a browser). Installs them with apt-get when missing (Debian, as
# root). Idempotent.
set -euo pipefail

need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v rabbitmq-server >/dev/null 2>&1 || need+=(rabbitmq-server)
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

# RabbitMQ on loopback only. A machine that already has a configuration keeps it.
if [ ! -e /etc/rabbitmq/rabbitmq-env.conf ] && [ ! -e /etc/rabbitmq/rabbitmq.conf ]; then
    # A broker the package started with its defaults (all interfaces) stops first.
    rabbitmqctl -q stop >/dev/null 2>&1 || true
    mkdir -p /etc/rabbitmq
    cat > /etc/rabbitmq/rabbitmq-env.conf <<'EOF'
# written by Levante's scripts/test-services.sh: loopback only
NODENAME=rabbit@localhost
NODE_IP_ADDRESS=127.0.0.1
NODE_PORT=5672
export ERL_EPMD_ADDRESS=127.0.0.1
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
    printf 'listeners.tcp.1 = 127.0.0.1:5672\nloopback_users.guest = true\n' > /etc/rabbitmq/rabbitmq.conf
fi
if ! rabbitmqctl -q status >/dev/null 2>&1; then
    # No systemd in containers: start the broker in the background, detached from this shell.
    mkdir -p /var/log/rabbitmq
    (cd / && setsid nohup rabbitmq-server >/var/log/rabbitmq/test-services.out 2>&1 </dev/null &)
    rabbitmqctl -q await_startup --timeout 120 >/dev/null 2>&1 \
        || { echo "test-services: RabbitMQ did not start (see /var/log/rabbitmq/)" >&2; exit 1; }
fi
