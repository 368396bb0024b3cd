#!/usr/bin/env bash
# source-postgres benchmark (issue 3): on a `pgbench -i -s $SCALE` database, in the same run, the wall time of
# `pg_dump > /dev/null` against `backhaul run` with source-postgres -> sink-local (no transforms), the ratio
# backhaul/pg_dump (target <= 1.05) and the peak RSS of each (/usr/bin/time -v). Reports; asserts nothing.
#
#   bench/postgres/bench.sh
#
# Environment: SCALE (default 10; 1 is ~15 MB of dump), RUNS (default 3; the best of each is reported, runs
# alternate so both see the same cache state), FORMAT (plain or custom, default plain), BUILD_DIR (default
# <repo>/build) with bin/backhaul and the plugins, built release-like (RelWithDebInfo, no sanitizers), WORK_DIR
# (default /dev/shm when it exists) where sink-local writes, so the disk is not what is measured.
# Needs: PostgreSQL's server binaries (initdb, pg_ctl, pgbench, pg_dump under /usr/lib/postgresql/<major>/bin),
# /usr/bin/time (Debian package `time`); when run as root, the `postgres` user owns the throwaway cluster.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${BUILD_DIR:-$repo/build}
backhaul=$build_dir/bin/backhaul
scale=${SCALE:-10}
runs=${RUNS:-3}
format=${FORMAT:-plain}
work_parent=${WORK_DIR:-$([ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")}

die() { echo "bench.sh: $*" >&2; exit 2; }
[ -x /usr/bin/time ] || die "/usr/bin/time is not installed (apt-get install time)"
[ -x "$backhaul" ] || die "$backhaul not found: build it first (cmake --build $build_dir) or set BUILD_DIR"
for plugin in source-postgres sink-local; do
    [ -f "$build_dir/lib/backhaul/plugins/$plugin.so" ] || die "plugin $plugin not built in $build_dir"
done
pg_bin=$(newest_pg_bin)
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin"
[ "$(id -u)" -ne 0 ] || id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user"

work=$(mktemp -d "$work_parent/backhaul-bench-pg-XXXXXX")
# The cluster lives on disk, not in WORK_DIR: pgbench -s 100 is 1.5 GB.
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/backhaul-bench-pgdata-XXXXXX")
pg_data=$pg_dir/data
cleanup() {
    if [ -f "$pg_data/postmaster.pid" ]; then
        as_pg_user "$pg_bin/pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$work" "$pg_dir"
}
trap cleanup EXIT
chmod 755 "$pg_dir"
[ "$(id -u)" -ne 0 ] || chown postgres "$pg_dir"

port=$(free_port)
echo "PostgreSQL from $pg_bin on 127.0.0.1:$port; pgbench scale $scale" >&2
as_pg_user "$pg_bin/initdb" -D "$pg_data" -U bench -A trust -E UTF8 --locale=C --no-sync >/dev/null
as_pg_user "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_dir/server.log" -w \
    -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=bench
"$pg_bin/createdb" benchdb
"$pg_bin/pgbench" -i -q -s "$scale" benchdb 2>&1 | tail -n 1 >&2

cat > "$work/pipeline.toml" <<TOML
name = "bench-postgres"

[source]
plugin = "source-postgres"
host = "127.0.0.1"
port = $port
user = "bench"
database = "benchdb"
format = "$format"

[sink]
plugin = "sink-local"
path = "$work/sink"
fsync = false
key = "dump{ext}"
TOML
mkdir -p "$work/sink"

dump_bytes=0
for run in $(seq 1 "$runs"); do
    measure pg_dump sh -c "'$pg_bin/pg_dump' --format=$format benchdb > /dev/null"
    measure pipe sh -c "'$pg_bin/pg_dump' --format=$format benchdb | cat > '$work/sink/pipe.out'"
    rm -f "$work/sink/pipe.out"
    measure backhaul "$backhaul" --log-level warn run "$work/pipeline.toml"
    dump_bytes=$(stat -c %s "$work"/sink/dump.*)
    rm -f "$work"/sink/dump.*
done

read -r pg_s pg_kib <<< "$(best pg_dump)"
read -r bh_s bh_kib <<< "$(best backhaul)"
read -r pipe_s pipe_kib <<< "$(best pipe)"
printf '\n%-34s %10s %14s\n' "pgbench scale $scale, $format, best of $runs" "wall s" "peak RSS MiB"
printf '%-34s %10.2f %14.1f\n' "pg_dump > /dev/null" "$pg_s" "$(awk -v k="$pg_kib" 'BEGIN { print k / 1024 }')"
printf '%-34s %10.2f %14.1f\n' "backhaul source-postgres->sink-local" "$bh_s" "$(awk -v k="$bh_kib" 'BEGIN { print k / 1024 }')"
printf '%-34s %10.2f %14.1f\n' "pg_dump | cat > file (reference)" "$pipe_s" "$(awk -v k="$pipe_kib" 'BEGIN { print k / 1024 }')"
printf '%-34s %10s\n' "dump size" "$(awk -v b="$dump_bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }')"
awk -v a="$bh_s" -v b="$pg_s" 'BEGIN { r = a / b; printf "ratio backhaul/pg_dump %.3f (target <= 1.05): %s\n", r, (r <= 1.05 ? "met" : "NOT met") }'
echo "(peak RSS as wait4 reports it: the largest of the process and its waited-for children, i.e. pg_dump too)"
