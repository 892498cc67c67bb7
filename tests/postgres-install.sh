#!/bin/bash
# Installs the PostgreSQL server that the tests' throwaway clusters run on
# (tests/common/pg.rs: initdb and pg_ctl from /usr/lib/postgresql/*/bin),
# from Debian's `postgresql` package, and the PgBouncer that
# tests/postgres.rs puts in front of one (`pgbouncer`). Idempotent and noninteractive; run as
# root (CI's .ci/run does):
#
#   bash tests/postgres-install.sh
#
# The packages would create and start a cluster of their own on port 5432
# and a pooler on 6432; the tests need neither, so a policy-rc.d keeps them
# from starting while the packages install (the tests' clusters listen on 127.0.0.1, on free ports).
set -eu

if [ "$(id -u)" != 0 ]; then
    echo "postgres-install.sh: must run as root" >&2
    exit 1
fi
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && getent passwd postgres >/dev/null &&
    [ -x /usr/sbin/pgbouncer ]; then
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
ours=
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    ours=1
fi
trap '[ -n "$ours" ] && rm -f "$policy"' EXIT
apt-get update -qq >/dev/null || { echo "postgres-install.sh: apt-get update failed" >&2; exit 1; }
apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    postgresql pgbouncer >/dev/null
ls /usr/lib/postgresql/*/bin/initdb >/dev/null
[ -x /usr/sbin/pgbouncer ]
