#!/usr/bin/env bash
# Start the services the test suite needs on this machine: PostgreSQL (the
# database for several processes), an OpenSSH server (the std.ssh and ansible
# tests) and RabbitMQ (event triggers on OpenStack notifications, see below),
# and install the headless Chromium the web console tests drive
# (Debian's chromium, with chromium-driver; Playwright is given it and never
# downloads a browser). Installs them with apt-get when missing (Debian, as
# root). Also Keystone (the keystone-mode tests), from PyPI in its own venv.
# Idempotent.
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

# RabbitMQ: a node of our own (levante-test@localhost on 127.0.0.1:5673, the
# guest account, which RabbitMQ allows on loopback only), with its config, data
# and logs under /var/lib/levante-test/rabbitmq. Nothing in /etc/rabbitmq is
# read or written, so a machine's own broker (and whatever it has configured)
# neither breaks these tests nor is changed by them.
RMQ_HOME=${LEVANTE_RABBITMQ_HOME:-/var/lib/levante-test/rabbitmq}
RMQ_PORT=${LEVANTE_RABBITMQ_PORT:-5673}
mkdir -p "$RMQ_HOME/mnesia" "$RMQ_HOME/log"
: > "$RMQ_HOME/rabbitmq-env.conf"
printf 'listeners.tcp.1 = 127.0.0.1:%s\nloopback_users.guest = true\n' "$RMQ_PORT" > "$RMQ_HOME/rabbitmq.conf"
chown -R rabbitmq:rabbitmq "$RMQ_HOME" 2>/dev/null || true
export RABBITMQ_CONF_ENV_FILE="$RMQ_HOME/rabbitmq-env.conf" RABBITMQ_CONFIG_FILE="$RMQ_HOME/rabbitmq.conf" \
    RABBITMQ_NODENAME=levante-test@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$RMQ_PORT" \
    RABBITMQ_DIST_PORT=$((RMQ_PORT + 20000)) RABBITMQ_MNESIA_BASE="$RMQ_HOME/mnesia" \
    RABBITMQ_LOG_BASE="$RMQ_HOME/log" RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_HOME/enabled_plugins" \
    ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
rmq_up() { rabbitmqctl -q status >/dev/null 2>&1; }
if ! rmq_up; then
    # No systemd in containers: start the node in the background, detached from this shell.
    (cd / && setsid nohup rabbitmq-server >"$RMQ_HOME/log/server.out" 2>&1 </dev/null &)
    for _ in $(seq 1 120); do rmq_up && break; sleep 1; done
    rabbitmqctl -q await_startup --timeout 60 >/dev/null 2>&1 \
        || { echo "test-services: RabbitMQ did not start (see $RMQ_HOME/log/)" >&2
             tail -n 20 "$RMQ_HOME/log/server.out" >&2; exit 1; }
fi
# Keystone for the keystone-mode tests: the keystone package from PyPI in its
# own venv (its pins would clash with Levante's), on SQLite, bootstrapped once
# and served on 127.0.0.1:5000 (LEVANTE_TEST_KEYSTONE=http://127.0.0.1:5000/v3).
KS_HOME=${LEVANTE_KEYSTONE_HOME:-/var/lib/levante-test/keystone}
KS_VENV=${LEVANTE_KEYSTONE_VENV:-/var/lib/levante-test/keystone-venv}
KS_PORT=${LEVANTE_KEYSTONE_PORT:-5000}
KS_ADMIN_PASSWORD=${LEVANTE_KEYSTONE_ADMIN_PASSWORD:-admin-secret}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$KS_VENV/bin/keystone-manage" ]; then
    python3 -c 'import ensurepip' 2>/dev/null || {
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    }
    mkdir -p "$(dirname "$KS_VENV")"
    python3 -m venv "$KS_VENV"
    "$KS_VENV/bin/pip" install -q keystone
fi
mkdir -p "$KS_HOME"
cat > "$KS_HOME/keystone.conf" <<CONF
[database]
connection = sqlite:///$KS_HOME/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = $KS_HOME/fernet-keys
[fernet_receipts]
key_repository = $KS_HOME/fernet-receipts
[credential]
key_repository = $KS_HOME/credential-keys
CONF
ksm() { "$KS_VENV/bin/keystone-manage" --config-file "$KS_HOME/keystone.conf" "$@"; }
if [ ! -f "$KS_HOME/keystone.db" ]; then
    ksm db_sync
    ksm fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
    ksm fernet_receipts_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" 2>/dev/null || true
    ksm credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
    ksm bootstrap --bootstrap-password "$KS_ADMIN_PASSWORD" \
        --bootstrap-admin-url "http://127.0.0.1:$KS_PORT/v3" \
        --bootstrap-public-url "http://127.0.0.1:$KS_PORT/v3" \
        --bootstrap-internal-url "http://127.0.0.1:$KS_PORT/v3" --bootstrap-region-id RegionOne
fi
ks_up() { "$KS_VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$KS_PORT/v3', timeout=2)" 2>/dev/null; }
if ! ks_up; then
    OS_KEYSTONE_CONFIG_FILES="$KS_HOME/keystone.conf" KS_PORT="$KS_PORT" nohup "$KS_VENV/bin/python" - \
        > "$KS_HOME/keystone.log" 2>&1 <<'PY' &
import os
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from keystone.wsgi.api import application


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


make_server("127.0.0.1", int(os.environ["KS_PORT"]), application, server_class=Server,
            handler_class=Quiet).serve_forever()
PY
    for _ in $(seq 1 60); do ks_up && break; sleep 1; done
    ks_up || { echo "test-services: Keystone did not start (see $KS_HOME/keystone.log)" >&2; exit 1; }
fi
"$KS_VENV/bin/python" "$here/keystone-users.py" "http://127.0.0.1:$KS_PORT/v3" "$KS_ADMIN_PASSWORD" >/dev/null
