#!/usr/bin/env bash
# Compression benchmark (issue 6): throughput and ratio of the gzip/pigz/zstd CLIs and of our compress-gzip and
# compress-zstd plugins on one real pg_dump output, in one run. Reports; asserts nothing.
#
#   bench/compress/run.sh [DUMP_FILE]
#
# DUMP_FILE: a plain-format pg_dump output. Without it, a throwaway PostgreSQL cluster is created in a temp dir,
# filled with `pgbench -i -s $SCALE` (default 20) plus a text-heavy table, and dumped.
# Environment: BUILD_DIR (default <repo>/build) holds bin/backhaul and the plugins, built in a release-like mode
# (RelWithDebInfo, no sanitizers); THREADS (default 2) is the thread count of the multi-threaded rows;
# WORK_DIR (default /dev/shm when it exists) is where outputs go, so the disk is not what is measured; DUMP_OUT, if
# set, is where a generated dump is written and kept (pass it as DUMP_FILE next time).
# Needs: gzip, pigz, zstd, /usr/bin/time; to generate a dump, PostgreSQL's server binaries (initdb, pg_ctl, pgbench,
# pg_dump) and, when run as root, the `postgres` user.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${BUILD_DIR:-$repo/build}
backhaul=$build_dir/bin/backhaul
threads=${THREADS:-2}
scale=${SCALE:-20}
work_parent=${WORK_DIR:-$([ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")}

die() { echo "run.sh: $*" >&2; exit 2; }
for tool in gzip pigz zstd /usr/bin/time; do command -v "$tool" >/dev/null || die "'$tool' is not installed"; done
[ -x "$backhaul" ] || die "$backhaul not found: build it first (cmake --build $build_dir) or set BUILD_DIR"
for plugin in source-command compress-gzip compress-zstd sink-local; do
    [ -f "$build_dir/lib/backhaul/plugins/$plugin.so" ] || die "plugin $plugin not built in $build_dir"
done

work=$(mktemp -d "$work_parent/backhaul-bench-XXXXXX")
pg_data=""
cleanup() {
    if [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
        as_pg_user "$pg_bin/pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$work" "${pg_dir:-}"
}
trap cleanup EXIT

# ---- The input: a pg_dump output ---------------------------------------------------------------------------------

as_pg_user() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

generate_dump() {
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || die "no DUMP_FILE given and no PostgreSQL server binaries found"
    if [ "$(id -u)" -eq 0 ]; then id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user"; fi
    # The cluster lives on disk (not in WORK_DIR): pgbench -s 20 is a few hundred MB.
    pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/backhaul-bench-pg-XXXXXX")
    chmod 755 "$pg_dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$pg_dir"
    pg_data=$pg_dir/data
    local socket=$pg_dir port=$((20000 + RANDOM % 20000))
    echo "generating a dump: pgbench scale $scale plus a text-heavy table (PostgreSQL in $pg_bin)" >&2
    as_pg_user "$pg_bin/initdb" -D "$pg_data" -U postgres -A trust --no-sync >/dev/null
    as_pg_user "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_dir/server.log" -w \
        -o "-k $socket -p $port -c listen_addresses='' -c fsync=off -c synchronous_commit=off" start >/dev/null
    local conn=(-h "$socket" -p "$port" -U postgres)
    as_pg_user "$pg_bin/pgbench" "${conn[@]}" -i -q -s "$scale" postgres >/dev/null 2>&1
    # Prose-like rows: words drawn at random from a small vocabulary, as in comment or description columns.
    as_pg_user "$pg_bin/psql" "${conn[@]}" -q -v ON_ERROR_STOP=1 postgres >/dev/null <<'SQL'
CREATE TABLE documents (id bigint PRIMARY KEY, title text NOT NULL, body text NOT NULL, created timestamptz NOT NULL);
INSERT INTO documents
SELECT g, 'Document ' || g || ': ' || md5(g::text),
       (SELECT string_agg((ARRAY['backup', 'restore', 'the', 'stream', 'database', 'of', 'customer', 'order',
                                 'invoice', 'shipped', 'pending', 'and', 'a', 'to', 'compression', 'is', 'Zurich',
                                 'delivery', 'payment', 'refund'])[1 + floor(random() * 20)::int], ' ')
        FROM generate_series(1, 120 + g % 60) AS w),
       timestamptz '2024-01-01' + g * interval '1 minute'
FROM generate_series(1, 100000) AS g;
SQL
    input=${DUMP_OUT:-$work/dump.sql}
    as_pg_user "$pg_bin/pg_dump" "${conn[@]}" postgres > "$input"
    as_pg_user "$pg_bin/pg_ctl" -D "$pg_data" -m fast stop >/dev/null
    rm -rf "$pg_dir"
    pg_data=""
}

if [ $# -ge 1 ]; then
    input=$1
    [ -r "$input" ] || die "cannot read $input"
else
    generate_dump  # not in a subshell: the EXIT trap must see the cluster to stop it if anything fails
fi
input_bytes=$(stat -c %s "$input")
# Read it once so every row starts with the same warm page cache.
cat "$input" >/dev/null

# ---- Measurements ------------------------------------------------------------------------------------------------

declare -A speed ratio
rows=()

# measure LABEL OUTPUT_FILE COMMAND...: wall time of COMMAND (input bytes / wall = MB/s), size of OUTPUT_FILE.
measure() {
    local label=$1 output=$2
    shift 2
    local start end
    start=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$work/rss" "$@"
    end=$(date +%s%N)
    local ns=$((end - start)) out_bytes
    out_bytes=$(stat -c %s "$output")
    speed[$label]=$(awk -v b="$input_bytes" -v ns="$ns" 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }')
    ratio[$label]=$(awk -v i="$input_bytes" -v o="$out_bytes" 'BEGIN { printf "%.3f", i / o }')
    rows+=("$(printf '%-22s %9s %8s %12d %10.2f %9s' "$label" "${speed[$label]}" "${ratio[$label]}" "$out_bytes" \
        "$(awk -v ns="$ns" 'BEGIN { print ns / 1e9 }')" "$(($(cat "$work/rss") / 1024))")")
    rm -f "$output"
}

# Our plugins, the way an operator runs them: the real binary, source-command(cat) -> compress-X -> sink-local.
ours() {
    local label=$1 plugin=$2 ext=$3
    shift 3
    local name=${label//[^a-z0-9]/-}
    mkdir -p "$work/store"
    {
        echo "name = \"bench\""
        echo "[source]"
        echo "plugin = \"source-command\""
        echo "command = [\"cat\", \"$input\"]"
        if [ -n "$plugin" ]; then
            echo "[[transform]]"
            echo "plugin = \"$plugin\""
            for option in "$@"; do echo "$option"; done
        fi
        echo "[sink]"
        echo "plugin = \"sink-local\""
        echo "path = \"$work/store\""
        echo "fsync = false"
        echo "key = \"$name$ext\""
    } > "$work/$name.toml"
    measure "$label" "$work/store/$name$ext" sh -c 'exec "$0" run "$1" 2> "$2"' "$backhaul" "$work/$name.toml" \
        "$work/$name.log" || { cat "$work/$name.log" >&2; exit 1; }
}

# The plugin alone, through the C ABI with the test harness: what the plugin costs without the engine around it.
plugin_only() {
    local label=$1 plugin=$2 ext=$3
    shift 3
    measure "$label" "$work/plugin$ext" "$work/plugin_driver" "$plugin" "$input" "$work/plugin$ext" "$@"
}

cli() {
    local label=$1 output=$2
    shift 2
    measure "$label" "$output" sh -c 'in=$1 out=$2; shift 2; exec "$@" < "$in" > "$out"' sh "$input" "$output" "$@"
}

g++ -O2 -std=c++20 -I"$repo/sdk/include" -I"$repo/tests/support" \
    -DBACKHAUL_PLUGIN_BUILD_DIR="\"$build_dir/lib/backhaul/plugins\"" \
    "$repo/bench/compress/plugin_driver.cpp" -o "$work/plugin_driver" -ldl
echo "input: $input ($input_bytes bytes), $threads threads, $(nproc) CPU cores, load average $(cut -d" " -f1-3 /proc/loadavg) (other load skews every row), outputs in $work" >&2
cli "gzip -6" "$work/cli.gz" gzip -6 -c
cli "pigz -6 -p $threads" "$work/cli-pigz.gz" pigz -6 -p "$threads" -c
plugin_only "ours gzip t=1" compress-gzip .gz level=6 threads=1
plugin_only "ours gzip t=$threads" compress-gzip .gz level=6 threads="$threads"
cli "zstd -3 -T$threads" "$work/cli.zst" zstd -3 -T"$threads" -q -c
plugin_only "ours zstd t=$threads" compress-zstd .zst level=3 threads="$threads"
# The same through the real binary (source-command cat -> compress -> sink-local on tmpfs), and the pipeline alone.
ours "run: no compression" "" ""
ours "run: gzip t=1" compress-gzip .gz "level = 6" "threads = 1"
ours "run: gzip t=$threads" compress-gzip .gz "level = 6" "threads = $threads"
ours "run: zstd t=$threads" compress-zstd .zst "level = 3" "threads = $threads"

printf '\n%-22s %9s %8s %12s %10s %9s\n' "compressor" "MB/s" "ratio" "output B" "wall s" "RSS MiB"
printf '%s\n' "${rows[@]}"

# ---- The issue's targets -----------------------------------------------------------------------------------------

# target DESCRIPTION ACTUAL_FACTOR REQUIRED_FACTOR
target() {
    local verdict
    verdict=$(awk -v a="$2" -v r="$3" 'BEGIN { print (a >= r ? "met" : "MISSED") }')
    printf '%-52s %6.2f  (need >= %s)  %s\n' "$1" "$2" "$3" "$verdict"
}
factor() { awk -v a="${speed[$1]}" -v b="${speed[$2]}" 'BEGIN { printf "%.3f", a / b }'; }

echo
echo "targets (speed factors; \"ours\" = the plugin alone, the run: rows add the engine around it):"
target "ours gzip t=$threads / ours gzip t=1" "$(factor "ours gzip t=$threads" "ours gzip t=1")" 1.8
target "ours gzip t=$threads / pigz -6 -p $threads" "$(factor "ours gzip t=$threads" "pigz -6 -p $threads")" 1.0
target "ours zstd t=$threads / zstd -3 -T$threads" "$(factor "ours zstd t=$threads" "zstd -3 -T$threads")" 0.95
target "ours gzip t=1 / gzip -6" "$(factor "ours gzip t=1" "gzip -6")" 1.0
size_delta=$(awk -v a="${ratio["ours gzip t=1"]}" -v b="${ratio["ours gzip t=$threads"]}" \
    'BEGIN { printf "%.2f", (a / b - 1) * 100 }')
echo "ours gzip t=$threads output is ${size_delta} % larger than t=1 (issue: within 1 %)"
