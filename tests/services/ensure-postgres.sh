#!/usr/bin/env bash
# Make a PostgreSQL server listen on 127.0.0.1:5432 for the ops tests (as root on Debian).
# Leaves a server that already answers alone; installs and starts Debian's otherwise, and
# makes a CREATEDB role ops_test (password ops-test) that the tests fall back to.
set -euo pipefail

if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-postgres: no PostgreSQL on 127.0.0.1:5432 and not root to install one" >&2
    exit 1
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
    echo "ensure-postgres: installing postgresql"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
fi
version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf "%f\n" | sort -V | tail -1)
if [ -z "$(pg_lsclusters -h 2>/dev/null | awk -v v="$version" '$1 == v && $2 == "main"')" ]; then
    pg_createcluster "$version" main
fi
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 60); do
    pg_isready -h 127.0.0.1 -p 5432 -q && break
    sleep 0.5
done
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "ensure-postgres: server did not start" >&2; exit 1; }
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -c \
    "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ops_test') THEN
       CREATE ROLE ops_test LOGIN CREATEDB PASSWORD 'ops-test'; END IF; END \$\$;"
echo "ensure-postgres: PostgreSQL $version on 127.0.0.1:5432"
