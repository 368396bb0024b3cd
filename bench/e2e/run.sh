#!/usr/bin/env bash
# End-to-end benchmark (issue 8): backhaul against the seed's shell pipeline and the best shell streaming pipelines,
# on one PostgreSQL database and one S3 server (Swift s3api), in one run with the rows alternating. Reports; asserts
# nothing. Prints a table (wall, CPU, peak RSS, peak temp disk, stored size, ratios) and writes it to
# bench/results/<date>-e2e.md with the machine, the versions and the date.
#
#   bench/e2e/run.sh
#
# Rows: (a) pg_dump -Fp > /dev/null; (b) the seed: pg_dump to a temp file, gzip -6, one curl PUT, rm;
# (c) backhaul source-postgres -> compress-gzip threads=1 -> sink-ncloud-s3; (d) the same, threads = cores;
# (e) the same with compress-zstd; (f) pg_dump | pigz -6 -p cores > /dev/null and pg_dump | zstd -3 -T cores.
# For reference, (e) into sink-local on tmpfs (fsync off) instead of S3: backhaul without the upload, like for like with
# the (f) rows, which upload nothing; Swift's share of the same cores is the difference between the two (e) rows.
# Plus (d) and (e) on a database SCALE_SMALL/SCALE the size, to show that backhaul's memory does not grow with the data.
# Backhaul runs at default settings but the threads: its memory is the pipeline's default memory_budget (docs/memory.md).
#
# Environment: SCALE (default 10) is `pgbench -i -s`, plus a text-heavy table of SCALE x 10,000 rows; SCALE_SMALL
# (default SCALE / 4, at least 1); ROUNDS (default 2): every row runs once per round, rows alternate, the fastest
# round is reported; PART_SIZE (default unset: the sink sizes its parts from its share of the memory budget);
# BUILD_DIR (default <repo>/build, release-like, no sanitizers); OUT (default bench/results/<date>-e2e.md; "-" = do
# not write).
# Needs: PostgreSQL server binaries, Swift with s3api, the AWS CLI, curl, gzip, pigz, zstd, /usr/bin/time
# (scripts/bootstrap installs them all); when run as root, the `postgres` user.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${BUILD_DIR:-$repo/build}
scale=${SCALE:-10}
scale_small=${SCALE_SMALL:-$(((scale / 4) > 0 ? scale / 4 : 1))}
rounds=${ROUNDS:-2}
part_size=${PART_SIZE:-}
cores=$(nproc)
out=${OUT:-$repo/bench/results/$(date -u +%Y-%m-%d)-e2e.md}

die() { echo "run.sh: $*" >&2; exit 2; }
bench_require_s3_stack "$build_dir" curl gzip pigz zstd /usr/bin/time bc

# ---- Servers -----------------------------------------------------------------------------------------------------

# The cluster and every temp file live on disk, as in production; only the sampler's view of temp dirs matters.
bench_start_s3_stack e2e
endpoint=$s3_endpoint

# ---- Data: pgbench plus prose-like text (what compresses like real application tables) ---------------------------

echo "loading pgbench scale $scale (and $scale_small) plus text ..." >&2
pg_load_bench bench "$scale"
pg_load_bench bench_small "$scale_small"
db_size=$("${psql_cmd[@]}" -d postgres -A -t -c "SELECT pg_database_size('bench')")
dump_size=$("$pg_bin/pg_dump" -h "$pg_socket" -p "$pg_port" -U postgres -Fp bench | wc -c)

# ---- Rows --------------------------------------------------------------------------------------------------------

pg_dump_cmd="$pg_bin/pg_dump -h $pg_socket -p $pg_port -U postgres -Fp"

pipeline() {  # pipeline NAME DATABASE TRANSFORM_TABLE
    cat > "$work/$1.toml" <<TOML
name = "$1"
lock_dir = "$work/locks"

[source]
plugin = "source-postgres"
host = "$pg_socket"
port = $pg_port
user = "postgres"
database = "$2"
pg_dump = "$pg_bin/pg_dump"

[[transform]]
$3

[sink]
plugin = "sink-ncloud-s3"
endpoint = "$endpoint"
region = "us-east-1"
bucket = "bench"
access_key = "\${env:AWS_ACCESS_KEY_ID}"
secret_key = "\${env:AWS_SECRET_ACCESS_KEY}"
key = "$1/%Y%m%d%H%M%S{ext}"
${part_size:+part_size = \"$part_size\"}
TOML
}
pipeline c bench "plugin = \"compress-gzip\"
level = 6
threads = 1"
pipeline d bench "plugin = \"compress-gzip\"
level = 6
threads = $cores"
pipeline e bench "plugin = \"compress-zstd\"
level = 3
threads = $cores"
pipeline d-small bench_small "plugin = \"compress-gzip\"
level = 6
threads = $cores"
pipeline e-small bench_small "plugin = \"compress-zstd\"
level = 3
threads = $cores"
# (e) without the upload: the same source and transform, the same default memory budget, into tmpfs.
sed -e '/^\[sink\]/,$d' -e 's/^name = "e"/name = "e-local"/' "$work/e.toml" > "$work/e-local.toml"
local_sink=$(mktemp -d /dev/shm/backhaul-e2e-XXXXXX)
trap 'rm -rf "$local_sink"; bench_stop_s3_stack' EXIT
cat >> "$work/e-local.toml" <<TOML
[sink]
plugin = "sink-local"
path = "$local_sink"
fsync = false
key = "e-local/%Y%m%d%H%M%S{ext}"
TOML
mkdir -p "$work/locks"

# curl's --user splits at the first ':', and Swift's access keys contain one: a netrc login may hold it.
printf 'machine 127.0.0.1 login %s password %s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$work/netrc"

# The seed's shell pipeline, faithfully: the whole dump on disk, compressed on disk, one PUT, then deleted.
cat > "$work/seed.sh" <<SH
set -e
tmp=\$(mktemp -d "\$TMPDIR/seed-XXXXXX")
$pg_dump_cmd bench > "\$tmp/dump.sql"
gzip -6 "\$tmp/dump.sql"
curl -sS --fail -T "\$tmp/dump.sql.gz" --aws-sigv4 "aws:amz:us-east-1:s3" --netrc-file "$work/netrc" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$endpoint/bench/seed/\$(date +%Y%m%d%H%M%S).sql.gz"
stat -c %s "\$tmp/dump.sql.gz" > "$work/seed.stored"
rm -rf "\$tmp"
SH

declare -A wall cpu rss temp stored
row_labels=(a b c d e e-local f-pigz f-zstd d-small e-small)
declare -A row_title=(
    [a]="(a) pg_dump -Fp > /dev/null"
    [b]="(b) seed: pg_dump > file; gzip -6; curl PUT"
    [c]="(c) backhaul gzip threads=1 -> S3"
    [d]="(d) backhaul gzip threads=$cores -> S3"
    [e]="(e) backhaul zstd -3 threads=$cores -> S3"
    [e-local]="(e) into sink-local on tmpfs, no upload (reference)"
    [f-pigz]="(f) pg_dump | pigz -6 -p $cores > /dev/null"
    [f-zstd]="(f) pg_dump | zstd -3 -T$cores > /dev/null"
    [d-small]="(d) at scale $scale_small (memory check)"
    [e-small]="(e) at scale $scale_small (memory check)"
)

# Samples the bytes of the files below a temp dir every 50 ms until stopped; prints the peak.
temp_sampler() {
    local dir=$1 peak=0 now
    while [ ! -f "$work/stop-sampler" ]; do
        # %.0f, not print: awk prints sums above 2^31 as 2.14752e+09, which the -gt below cannot compare.
        now=$(find "$dir" -type f -printf '%s\n' 2>/dev/null | awk '{ total += $1 } END { printf "%.0f\n", total }')
        [ "${now:-0}" -gt "$peak" ] && peak=$now
        sleep 0.05
    done
    echo "$peak"
}

# Stored size of the newest object under PREFIX.
stored_size() {
    "$aws" --endpoint-url "$endpoint" s3api list-objects --bucket bench --prefix "$1/" \
        --query 'sort_by(Contents[?!ends_with(Key, `.manifest.json`)], &LastModified)[-1].Size' --output text
}

run_row() {  # run_row LABEL
    local label=$1 tmp=$work/tmp-$1
    rm -rf "$tmp" "$work/stop-sampler"
    mkdir -p "$tmp"
    temp_sampler "$tmp" > "$work/temp-peak" &
    local sampler=$!
    local command
    case $label in
        a) command="$pg_dump_cmd bench > /dev/null" ;;
        b) command="bash $work/seed.sh" ;;
        c | d | e | e-local | d-small | e-small)
            command="$backhaul run $work/$label.toml --no-progress 2> $work/$label.log" ;;
        f-pigz) command="$pg_dump_cmd bench | pigz -6 -p $cores > /dev/null" ;;
        f-zstd) command="$pg_dump_cmd bench | zstd -q -3 -T$cores > /dev/null" ;;
    esac
    # /usr/bin/time measures the shell and everything it waits for: every process of the pipeline, not the server.
    TMPDIR=$tmp run_timed "$work/time" bash -c "$command" ||
        { cat "$work/$label.log" 2>/dev/null >&2; die "row $label failed"; }
    touch "$work/stop-sampler"
    wait "$sampler"
    local w c m
    read -r w c m < "$work/time"
    if [ -z "${wall[$label]:-}" ] || (($(echo "$w < ${wall[$label]}" | bc -l))); then
        wall[$label]=$w
        cpu[$label]=$c
        rss[$label]=$((m / 1024))
        temp[$label]=$(cat "$work/temp-peak")
        case $label in
            b) stored[$label]=$(cat "$work/seed.stored") ;;
            c | d | e | d-small | e-small) stored[$label]=$(stored_size "$label") ;;
            *) stored[$label]="" ;;
        esac
    fi
    rm -rf "$tmp"
    [ "$label" != e-local ] || rm -rf "${local_sink:?}"/*
}

for ((round = 1; round <= rounds; ++round)); do
    for label in "${row_labels[@]}"; do
        echo "round $round/$rounds: ${row_title[$label]}" >&2
        run_row "$label"
    done
done

# ---- Report ------------------------------------------------------------------------------------------------------

# Rounded to 3 decimals: bc's scale truncates, which made 1.003 read as 1.00 against a target of 1.00.
ratio() { awk -v a="${wall[$1]}" -v b="${wall[$2]}" 'BEGIN { printf "%.3f", a / b }'; }
mib() { [ -n "$1" ] && echo "scale=1; $1 / 1048576" | bc -l | sed 's/^\./0./' || echo "-"; }
table() {
    echo "| row | wall s | CPU s | peak RSS MiB | peak temp MiB | stored MiB | /(a) | /(b) | /(f) pigz |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for label in "${row_labels[@]}"; do
        echo "| ${row_title[$label]} | ${wall[$label]} | ${cpu[$label]} | ${rss[$label]} | $(mib "${temp[$label]}") |" \
            "$(mib "${stored[$label]}") | $(ratio "$label" a) | $(ratio "$label" b) | $(ratio "$label" f-pigz) |"
    done
}
targets() {
    echo "| target | measured | met |"
    echo "|---|---:|---|"
    met() { (($(echo "$1 <= $2" | bc -l))) && echo yes || echo no; }
    local x
    x=$(ratio d b) && echo "| (d)/(b) <= 0.55 | $x | $(met "$x" 0.55) |"
    x=$(ratio d f-pigz) && echo "| (d) <= 1.10 x pigz pipeline | $x | $(met "$x" 1.10) |"
    x=$(ratio e a) && echo "| (e)/(a) <= 1.05 (at N >= 100) | $x | $(met "$x" 1.05) (N = $scale) |"
    x=$(ratio f-zstd a) && echo "| reference: shell zstd /(a) | $x | |"
    x=$(ratio e f-zstd) && echo "| (e) <= 1.00 x shell zstd (which uploads nothing) | $x | $(met "$x" 1.00) |"
    x=$(ratio e-local f-zstd) && echo "| reference: (e) into tmpfs, no upload / shell zstd | $x | |"
    local peak=0
    for label in c d e d-small e-small; do ((rss[$label] > peak)) && peak=${rss[$label]}; done
    for label in c d e d-small e-small; do
        echo "| ${row_title[$label]}: peak RSS <= 64 MiB | ${rss[$label]} MiB | $( ((rss[$label] <= 64)) && echo yes || echo no) |"
    done
    echo "| RSS at scale $scale vs $scale_small: gzip (d) | ${rss[d]} vs ${rss[d-small]} MiB | |"
    echo "| RSS at scale $scale vs $scale_small: zstd (e) | ${rss[e]} vs ${rss[e-small]} MiB | |"
    local tmax=0
    for label in c d e d-small e-small; do ((temp[$label] > tmax)) && tmax=${temp[$label]}; done
    echo "| backhaul temp disk = 0 | $tmax bytes | $( ((tmax == 0)) && echo yes || echo no) |"
}

report=$(
    echo "# End-to-end benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $cores cores," \
        "$(free -g | awk '/^Mem:/ {print $2}') GiB RAM; $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
    echo "- PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on the same cores (fsync off)," \
        "Swift s3api on loopback (also on the same cores)"
    echo "- data: pgbench -i -s $scale + $((scale * 10000)) text rows: database $(mib "$db_size") MiB," \
        "plain dump $(mib "$dump_size") MiB"
    echo "- tools: $(gzip --version | head -1), pigz $(pigz --version 2>&1 | awk '{print $2}')," \
        "zstd $(zstd --version | grep -o 'v[0-9.]*'), $(curl --version | head -1 | awk '{print $1, $2}')," \
        "$("$backhaul" --version 2>&1 | head -1)"
    echo "- backhaul at default settings but threads: memory_budget default, sink-ncloud-s3 part_size" \
        "${part_size:-from the memory share}"
    echo "- backhaul validate of (e): $("$backhaul" validate "$work/e.toml" | tail -1 | sed 's/^ *//')"
    echo "- $rounds rounds, rows alternating, fastest round reported;" \
        "CPU = user + sys of every client process (not the PostgreSQL or Swift servers)"
    echo
    table
    echo
    targets
)
echo
echo "$report"
if [ "$out" != "-" ]; then
    mkdir -p "$(dirname "$out")"
    echo "$report" > "$out"
    echo
    echo "written to $out"
fi
