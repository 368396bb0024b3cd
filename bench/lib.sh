# shellcheck shell=bash
# Helpers the benchmarks share, sourced (not run): bench/postgres/bench.sh, bench/sets/run.sh, bench/e2e/run.sh,
# bench/restore/run.sh. A benchmark sets `work` (its scratch directory) before it calls measure or run_timed, and
# `pg_bin` (newest_pg_bin) before it calls the pg_cluster_* helpers.

# Runs a command as the `postgres` user when we are root (PostgreSQL refuses to run as root), else as ourselves.
as_pg_user() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# The newest /usr/lib/postgresql/<major>/bin, or "" if there is none.
newest_pg_bin() { find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1; }

# A loopback TCP port that was free a moment ago.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The AWS CLI to use (Debian's /usr/bin/aws first, else PATH's), or "" if there is none.
aws_cli() { [ -x /usr/bin/aws ] && echo /usr/bin/aws || command -v aws || true; }

# run_timed FILE COMMAND...: runs COMMAND under /usr/bin/time -v and writes "wall_s cpu_s kib" to FILE: wall clock
# (two decimals), user + sys CPU and peak RSS (the largest of the command and its waited-for children). Returns the
# command's status.
run_timed() {
    local file=$1 status=0; shift
    /usr/bin/time -v -o "$file.v" "$@" || status=$?
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i] }
                /User time \(seconds\)/ { cpu += $2 } /System time \(seconds\)/ { cpu += $2 }
                /Maximum resident set size/ { kib = $2 }
                END { printf "%.2f %.2f %d\n", s, cpu, kib }' "$file.v" > "$file"
    rm -f "$file.v"
    return "$status"
}

# measure LABEL COMMAND...: appends "seconds kib" (wall time, peak RSS of the command and its waited-for children)
# of one run to $work/LABEL and returns the command's status; best LABEL prints the fastest.
measure() {
    local label=$1 status=0 w k; shift
    run_timed "$work/time.txt" "$@" || status=$?
    read -r w _ k < "$work/time.txt"
    printf '%.3f %d\n' "$w" "$k" >> "$work/$label"
    return "$status"
}
best() { sort -n "$work/$1" | head -n 1; }

# ---- A throwaway PostgreSQL cluster ------------------------------------------------------------------------------

# pg_cluster_start DIR: initdb a cluster in DIR/data (superuser `postgres`, trust, owned by the postgres user when we
# are root) and start it with fsync off, listening on a free loopback port and on a socket in DIR. Sets pg_dir,
# pg_data, pg_socket, pg_port and psql_cmd (psql as the superuser over the socket, quiet, stopping at the first error).
pg_cluster_start() {
    pg_dir=$1
    pg_data=$pg_dir/data
    pg_socket=$pg_dir
    pg_port=$(free_port)
    mkdir -p "$pg_dir"
    chmod 755 "$pg_dir"
    [ "$(id -u)" -ne 0 ] || chown postgres "$pg_dir"
    as_pg_user "$pg_bin/initdb" -D "$pg_data" -U postgres -A trust --no-sync >/dev/null
    as_pg_user "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_dir/server.log" -w -o "-k $pg_socket -p $pg_port \
        -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null
    psql_cmd=("$pg_bin/psql" -h "$pg_socket" -p "$pg_port" -U postgres -X -q -v ON_ERROR_STOP=1)
}

# pg_cluster_stop: stops pg_cluster_start's cluster, if it runs (for an EXIT trap).
pg_cluster_stop() {
    if [ -n "${pg_data:-}" ] && [ -f "$pg_data/postmaster.pid" ]; then
        as_pg_user "$pg_bin/pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
    fi
}

# pg_load_bench DATABASE SCALE: creates DATABASE with `pgbench -i -s SCALE` plus `documents`, SCALE x 10,000 rows of
# prose-like text (what compresses like real application tables).
pg_load_bench() {
    "${psql_cmd[@]}" -d postgres -c "CREATE DATABASE $1" >/dev/null
    as_pg_user "$pg_bin/pgbench" -h "$pg_socket" -p "$pg_port" -U postgres -i -q -s "$2" "$1" >/dev/null 2>&1
    "${psql_cmd[@]}" -d "$1" >/dev/null <<SQL
CREATE TABLE documents (id bigint PRIMARY KEY, title text NOT NULL, body text NOT NULL, created timestamptz NOT NULL);
INSERT INTO documents
SELECT g, 'Document ' || g || ': ' || md5(g::text),
       (SELECT string_agg((ARRAY['backup', 'restore', 'the', 'stream', 'database', 'of', 'customer', 'order',
                                 'invoice', 'shipped', 'pending', 'and', 'a', 'to', 'compression', 'is', 'Zurich',
                                 'delivery', 'payment', 'refund'])[1 + floor(random() * 20)::int], ' ')
        FROM generate_series(1, 120 + g % 60) AS w),
       timestamptz '2024-01-01' + g * interval '1 minute'
FROM generate_series(1, $2 * 10000) AS g;
VACUUM ANALYZE;
SQL
}

# ---- A local S3 server (Swift s3api) -----------------------------------------------------------------------------

# s3_start DIR BUCKET: starts tests/support/swift_s3_server.py in DIR on a loopback port (it stops when fd 3 closes),
# points the AWS CLI's environment at its test:tester account (nothing of ~/.aws is read) and creates BUCKET. Sets
# s3_endpoint, s3_pid and aws (the CLI). Returns 1 if Swift does not start.
s3_start() {
    local dir=$1 bucket=$2 ready port
    aws=$(aws_cli)
    mkfifo "$dir.out" "$dir.in"
    /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/../tests/support/swift_s3_server.py" "$dir" \
        < "$dir.in" > "$dir.out" &
    s3_pid=$!
    exec 3> "$dir.in"
    read -r ready port < "$dir.out" || true
    if [ "${ready:-}" != READY ]; then
        echo "Swift did not start: ${ready:-} ${port:-} (logs in $dir)" >&2
        return 1
    fi
    s3_endpoint=http://127.0.0.1:$port
    export AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
    export AWS_EC2_METADATA_DISABLED=true AWS_SHARED_CREDENTIALS_FILE=$dir.aws-credentials AWS_CONFIG_FILE=$dir.aws-config
    "$aws" --endpoint-url "$s3_endpoint" s3api create-bucket --bucket "$bucket" >/dev/null
}

# s3_stop: stops s3_start's server, if it runs (for an EXIT trap).
s3_stop() {
    exec 3>&- 2>/dev/null || true
    if [ -n "${s3_pid:-}" ]; then kill "$s3_pid" 2>/dev/null || true; wait "$s3_pid" 2>/dev/null || true; fi
}

# ---- What the S3 benchmarks share (bench/e2e, bench/restore) ----------------------------------------------------

# bench_require_s3_stack BUILD_DIR TOOL...: calls the caller's `die` unless TOOL..., the AWS CLI, BUILD_DIR's backhaul
# and the plugins of the S3 benchmark pipelines, PostgreSQL's server binaries and (as root) the postgres user are
# there; sets aws, backhaul and pg_bin.
bench_require_s3_stack() {
    local build_dir=$1 tool plugin
    shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "'$tool' is not installed"
    done
    aws=$(aws_cli)
    [ -n "$aws" ] || die "the AWS CLI is not installed"
    backhaul=$build_dir/bin/backhaul
    [ -x "$backhaul" ] || die "$backhaul not found: build it first (scripts/build) or set BUILD_DIR"
    for plugin in source-postgres compress-gzip compress-zstd sink-ncloud-s3; do
        [ -f "$build_dir/lib/backhaul/plugins/$plugin.so" ] || die "plugin $plugin not built in $build_dir"
    done
    pg_bin=$(newest_pg_bin)
    [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin"
    [ "$(id -u)" -ne 0 ] || id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user"
}

# bench_start_s3_stack NAME: makes `work` (a scratch directory on disk, removed on exit with both servers), then starts
# the PostgreSQL cluster and Swift s3api with bucket `bench` (pg_cluster_start, s3_start).
bench_start_s3_stack() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/backhaul-$1-XXXXXX")
    chmod 755 "$work"
    trap 'bench_stop_s3_stack' EXIT
    echo "starting PostgreSQL ($pg_bin) and Swift s3api ..." >&2
    pg_cluster_start "$work/pg"
    s3_start "$work/swift" bench || die "Swift s3api did not start"
}
bench_stop_s3_stack() {
    s3_stop
    pg_cluster_stop
    rm -rf "$work"
}
