#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the database tests.
#
#   eval "$(bash .ci/postgres.sh)"
#
# Installs Debian's `postgresql` package when missing, starts the first cluster
# if it is down, creates (or updates) the login role `kpi` and the database
# `kpi`, and prints ONE line on stdout:
#
#   export KPI_TEST_POSTGRES_URL=postgresql+psycopg://kpi:<password>@127.0.0.1:<port>/kpi
#
# Everything else goes to stderr, so the output is safe to eval. Rerunning is
# harmless: each step checks before it acts. The password is taken from
# KPI_PG_PASSWORD when set (letters and digits only), else generated once and
# kept in a root-only file so reruns print the same URL.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# 1. the server binaries
if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing the postgresql package"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
fi

# 2. a cluster (the package creates `main`; some images disable that)
if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
    version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    log "creating cluster $version/main"
    $SUDO pg_createcluster "$version" main >&2
fi
read -r version cluster port status _ < <(pg_lsclusters -h | head -n 1)

# 3. running, listening on loopback only (the Debian default: listen_addresses = 'localhost')
if [ "$status" != "online" ]; then
    log "starting cluster $version/$cluster on port $port"
    $SUDO pg_ctlcluster "$version" "$cluster" start >&2
fi
for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$port" || { log "server on 127.0.0.1:$port is not ready"; exit 1; }

# 4. the password: given, or generated once and remembered
secret_file="/var/lib/postgresql/.kpi_ci_password"
if [ -n "${KPI_PG_PASSWORD:-}" ]; then
    password="$KPI_PG_PASSWORD"
elif $SUDO test -s "$secret_file"; then
    password="$($SUDO cat "$secret_file")"
else
    password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    ( umask 077; echo "$password" | $SUDO tee "$secret_file" >/dev/null )
fi
if ! [[ "$password" =~ ^[A-Za-z0-9]+$ ]]; then
    log "KPI_PG_PASSWORD must be letters and digits only"
    exit 1
fi

# 5. role and database, created if missing; the password is (re)set every run
cd /   # the postgres user cannot enter root's working directory
$SUDO su postgres -c "psql -q -X -v ON_ERROR_STOP=1 -p $port" >&2 <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kpi') THEN
        CREATE ROLE kpi LOGIN;
    END IF;
END
\$\$;
ALTER ROLE kpi WITH LOGIN PASSWORD '$password';
SELECT 'CREATE DATABASE kpi OWNER kpi' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'kpi')
\gexec
SQL
log "PostgreSQL $version ready on 127.0.0.1:$port, database kpi, role kpi"

echo "export KPI_TEST_POSTGRES_URL=postgresql+psycopg://kpi:${password}@127.0.0.1:${port}/kpi"
