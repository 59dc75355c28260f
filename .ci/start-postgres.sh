# Source this file: installs PostgreSQL from Debian's packages when missing, starts a throw-away
# server on 127.0.0.1:54329 and exports B2BCLIENT_POSTGRES_URL. The server stops when the shell exits.
set -euo pipefail

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "installing PostgreSQL from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_port=${B2BCLIENT_POSTGRES_PORT:-54329}
pg_data=$(mktemp -d /tmp/b2bclient-pg.XXXXXX)

if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$pg_data"
    as_pg() { runuser -u postgres -- "$@"; }
    pg_user=postgres
else
    as_pg() { "$@"; }
    pg_user=$(id -un)
fi

as_pg "$pg_bin/initdb" -D "$pg_data" -A trust -U "$pg_user" >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w \
    -o "-p $pg_port -k $pg_data -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U "$pg_user" b2bclient_test

stop_postgres() { as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m fast stop >/dev/null 2>&1 || true; }
trap stop_postgres EXIT

export B2BCLIENT_POSTGRES_URL="postgresql+psycopg://$pg_user@127.0.0.1:$pg_port/b2bclient_test"
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') running at $B2BCLIENT_POSTGRES_URL"
