#!/usr/bin/env bash
# Backup sets benchmark (issue 15, docs/sets.md): a cluster of 4 databases of different sizes plus roles, measured in
# the same run against the shell a user would write. Reports; asserts nothing.
#
#   Row 1  backhaul run, source-postgres databases = [the four] + globals, jobs = JOBS, gzip -> sink-local
#          vs pg_dumpall --globals-only | gzip, then pg_dump --create DB | gzip > file for each database in turn
#          (target <= 0.60)
#   Row 2  the same run with two sinks (`[[sink]]`: the set teed to two sink-local directories) vs one
#          (target <= 1.15 wall; peak RSS of both reported)
#   Row 3  backhaul restore of the whole set (jobs = JOBS) into a second cluster vs the sequential shell restore of
#          the shell's dumps (gunzip -c | psql, globals first); no target: lower is better
#
#   bench/sets/run.sh
#
# Environment: SCALE (default 8: pgbench scales 8, 4, 2, 1, about 225 MB of plain dump in all), RUNS (default 3; best
# of each, backhaul and shell alternating), JOBS (default 2), GZIP_THREADS (compress-gzip's `threads`, default 1: one
# deflate thread per stream, as the shell's gzip; 0 = one per core and stream), ORDER (largest-first, the default, or
# smallest-first: the engine starts streams in list order, which decides how well JOBS streams pack), BUILD_DIR
# (default <repo>/build, built without sanitizers), WORK_DIR (default /dev/shm).
# Needs PostgreSQL's server binaries (/usr/lib/postgresql/<major>/bin), /usr/bin/time; as root, the `postgres` user
# owns the throwaway clusters.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${BUILD_DIR:-$repo/build}
backhaul=$build_dir/bin/backhaul
scale=${SCALE:-8}
runs=${RUNS:-3}
jobs=${JOBS:-2}
gzip_threads=${GZIP_THREADS:-1}
order=${ORDER:-largest-first}
work_parent=${WORK_DIR:-$([ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")}

die() { echo "bench/sets: $*" >&2; exit 2; }
[ -x /usr/bin/time ] || die "/usr/bin/time is not installed (apt-get install time)"
[ -x "$backhaul" ] || die "$backhaul not found: build it first (cmake --build $build_dir) or set BUILD_DIR"
for plugin in source-postgres compress-gzip sink-local; do
    [ -f "$build_dir/lib/backhaul/plugins/$plugin.so" ] || die "plugin $plugin not built in $build_dir"
done
case $order in largest-first | smallest-first) ;; *) die "ORDER must be largest-first or smallest-first" ;; esac
pg_bin=$(newest_pg_bin)
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin"
[ "$(id -u)" -ne 0 ] || id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user"

work=$(mktemp -d "$work_parent/backhaul-bench-sets-XXXXXX")
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/backhaul-bench-sets-pg-XXXXXX")
cleanup() {
    for cluster in source target; do
        if [ -f "$pg_dir/$cluster/postmaster.pid" ]; then
            as_pg_user "$pg_bin/pg_ctl" -D "$pg_dir/$cluster" -m immediate stop >/dev/null 2>&1 || true
        fi
    done
    rm -rf "$work" "$pg_dir"
}
trap cleanup EXIT
chmod 755 "$pg_dir"
[ "$(id -u)" -ne 0 ] || chown postgres "$pg_dir"

start_cluster() {  # NAME PORT
    as_pg_user "$pg_bin/initdb" -D "$pg_dir/$1" -U bench -A trust -E UTF8 --locale=C --no-sync >/dev/null
    as_pg_user "$pg_bin/pg_ctl" -D "$pg_dir/$1" -l "$pg_dir/$1.log" -w \
        -o "-p $2 -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null
}
source_port=$(free_port)
target_port=$(free_port)
start_cluster source "$source_port"
start_cluster target "$target_port"
psql_at() { "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U bench -p "$@"; }

# Four databases of halving sizes (at least scale 1 each), roles with a membership, one database owned by a role.
databases=()
s=$scale
for name in large medium small tiny; do
    [ "$s" -ge 1 ] || s=1
    "$pg_bin/createdb" -h 127.0.0.1 -U bench -p "$source_port" "$name"
    "$pg_bin/pgbench" -h 127.0.0.1 -U bench -p "$source_port" -i -q -s "$s" "$name" >/dev/null 2>&1
    databases+=("$name")
    s=$((s / 2))
done
psql_at "$source_port" -d postgres -c "CREATE ROLE bench_admin LOGIN; CREATE ROLE bench_reader NOLOGIN;
    CREATE ROLE bench_app LOGIN IN ROLE bench_reader; ALTER DATABASE small OWNER TO bench_admin;"
[ "$order" = largest-first ] || databases=(tiny small medium large)
list=$(printf '"%s", ' "${databases[@]}")
list="[${list%, }]"
echo "PostgreSQL from $pg_bin; databases $list at pgbench scales $scale/$((scale / 2))/$((scale / 4))/$((scale / 8)) (min 1)," \
    "jobs $jobs, gzip threads $gzip_threads, best of $runs" >&2

pipeline() {  # PORT FILE
    cat > "$2" <<TOML
name = "bench-sets"
jobs = $jobs
lock_dir = "$work/lock"

[source]
plugin = "source-postgres"
host = "127.0.0.1"
port = $1
user = "bench"
databases = $list
globals = true

[[transform]]
plugin = "compress-gzip"
level = 6
threads = $gzip_threads

[sink]
plugin = "sink-local"
path = "$work/sink"
fsync = false
key = "{pipeline}/%Y%m%dT%H%M%S"
TOML
}
mkdir -p "$work/sink" "$work/sink2" "$work/lock" "$work/shell"
pipeline "$source_port" "$work/backup.toml"
# Row 2's pipeline: the same with a second sink-local (a name of its own, so its keys never meet row 1's).
sed -e 's/^name = "bench-sets"$/name = "bench-sets-two"/' -e 's/^\[sink\]$/[[sink]]\nname = "one"/' \
    "$work/backup.toml" > "$work/two.toml"
printf '\n[[sink]]\nname = "two"\nplugin = "sink-local"\npath = "%s/sink2"\nfsync = false\nkey = "{pipeline}/%%Y%%m%%dT%%H%%M%%S"\n' \
    "$work" >> "$work/two.toml"
"$backhaul" --quiet validate "$work/two.toml" || die "the two-sink pipeline does not validate"
# The restore's pipeline: the same name and sink, the source pointing at the target cluster.
pipeline "$target_port" "$work/restore.toml"


# The shell a user would write, as scripts of their own so /usr/bin/time measures them whole.
{
    echo "set -euo pipefail"
    echo "'$pg_bin/pg_dumpall' -h 127.0.0.1 -U bench -p $source_port --globals-only | gzip -6 > '$work/shell/globals.sql.gz'"
    for db in "${databases[@]}"; do
        echo "PGDATABASE=$db '$pg_bin/pg_dump' -h 127.0.0.1 -U bench -p $source_port --create | gzip -6 > '$work/shell/$db.sql.gz'"
    done
} > "$work/shell_backup.sh"
{
    echo "set -euo pipefail"
    # Without ON_ERROR_STOP: CREATE ROLE bench meets the target's bootstrap role, as a user's script would see.
    echo "gunzip -c '$work/shell/globals.sql.gz' | '$pg_bin/psql' -X -q -h 127.0.0.1 -U bench -p $target_port -d postgres >/dev/null 2>&1"
    for db in "${databases[@]}"; do
        echo "gunzip -c '$work/shell/$db.sql.gz' | '$pg_bin/psql' -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U bench -p $target_port -d postgres >/dev/null"
    done
} > "$work/shell_restore.sh"
reset_target() {
    export PGOPTIONS="-c client_min_messages=warning"  # no NOTICE for what is not there
    for db in "${databases[@]}"; do psql_at "$target_port" -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
    psql_at "$target_port" -d postgres -c "DROP ROLE IF EXISTS bench_app; DROP ROLE IF EXISTS bench_reader;
        DROP ROLE IF EXISTS bench_admin"
    unset PGOPTIONS
}
check_target() {  # what both restores must give
    for db in "${databases[@]}"; do
        local want got
        want=$(psql_at "$source_port" -d "$db" -At -c "SELECT count(*) FROM pgbench_accounts")
        got=$(psql_at "$target_port" -d "$db" -At -c "SELECT count(*) FROM pgbench_accounts")
        [ "$want" = "$got" ] || die "restore check: $db has $got accounts, the source $want"
    done
    [ "$(psql_at "$target_port" -d postgres -At -c "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON
        r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = 'bench_reader' AND u.rolname = 'bench_app'")" = 1 ] ||
        die "restore check: the membership of bench_app in bench_reader is missing"
}

set_key=""
for _ in $(seq 1 "$runs"); do
    rm -rf "${work:?}/sink"/* "${work:?}/shell"/*
    measure shell_backup bash "$work/shell_backup.sh"
    measure backhaul_backup "$backhaul" --log-level info run "$work/backup.toml" 2> "$work/run.log" ||
        { cat "$work/run.log" >&2; die "backhaul run failed"; }
    set_key=$(sed -n 's/.*backup committed: pipeline=[^ ]* key=\([^ ]*\) .*/\1/p' "$work/run.log" | tail -n 1)
    [ -n "$set_key" ] || die "no set key in the run's log"
    rm -rf "${work:?}/sink2"/* "${work:?}/sink/bench-sets-two"
    measure backhaul_two_sinks "$backhaul" --log-level info run "$work/two.toml" 2> "$work/run2.log" ||
        { cat "$work/run2.log" >&2; die "backhaul run with two sinks failed"; }

    reset_target
    measure shell_restore bash "$work/shell_restore.sh"
    check_target
    reset_target
    measure backhaul_restore "$backhaul" --log-level warn restore "$work/restore.toml" --key "$set_key" ||
        die "backhaul restore failed"
    check_target
done
stored=$(du -sb "$work/sink/bench-sets" | cut -f1)

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
read -r sb_s sb_kib <<< "$(best shell_backup)"
read -r bb_s bb_kib <<< "$(best backhaul_backup)"
read -r sr_s sr_kib <<< "$(best shell_restore)"
read -r br_s br_kib <<< "$(best backhaul_restore)"
printf '\n%-58s %8s %13s\n' "4 databases ($order), jobs $jobs, best of $runs" "wall s" "peak RSS MiB"
printf '%-58s %8.2f %13s\n' "shell: pg_dumpall -g | gzip; pg_dump | gzip, one by one" "$sb_s" "$(mib "$sb_kib")"
printf '%-58s %8.2f %13s\n' "backhaul run (set, gzip threads $gzip_threads)" "$bb_s" "$(mib "$bb_kib")"
awk -v a="$bb_s" -v b="$sb_s" 'BEGIN { r = a / b; printf "row 1: backup ratio backhaul/shell %.3f (target <= 0.60): %s\n", r, (r <= 0.60 ? "met" : "NOT met") }'

read -r b2_s b2_kib <<< "$(best backhaul_two_sinks)"
printf '%-58s %8.2f %13s\n' "backhaul run (set) to two sinks" "$b2_s" "$(mib "$b2_kib")"
awk -v a="$b2_s" -v b="$bb_s" 'BEGIN { r = a / b; printf "row 2: two sinks / one sink %.3f (target <= 1.15): %s\n", r, (r <= 1.15 ? "met" : "NOT met") }'

printf '%-58s %8.2f %13s\n' "shell restore: gunzip -c | psql, one by one" "$sr_s" "$(mib "$sr_kib")"
printf '%-58s %8.2f %13s\n' "backhaul restore (set, jobs $jobs)" "$br_s" "$(mib "$br_kib")"
awk -v a="$br_s" -v b="$sr_s" 'BEGIN { printf "row 3: restore ratio backhaul/shell %.3f (no target; lower is better)\n", a / b }'
awk -v b="$stored" 'BEGIN { printf "stored set: %.1f MB\n", b / 1e6 }'
echo "(peak RSS as wait4 reports it: the largest of the process and its waited-for children, pg_dump and psql too)"
