#!/usr/bin/env bash
# Restore benchmark (issue 17): `backhaul restore` from S3 into a fresh database against the shell a user would write,
# for a gzip and a zstd backup of the same plain dump, on one PostgreSQL cluster and one S3 server (Swift s3api), in
# one run with the rows alternating. Reports wall, CPU and peak RSS per row and the ratios backhaul/shell; asserts no
# speed, but a restore that comes out wrong (row counts of pgbench_accounts and documents unlike the source's) is an
# error, not a number. Prints a table and writes it to bench/results/<date>-restore.md with the machine, the versions
# and the date.
#
#   bench/restore/run.sh
#
# Before timing, backhaul backs the database up once with compress-gzip (level 6) and once with compress-zstd
# (level 3), source-postgres format plain (pg_dump -Fp) -> sink-ncloud-s3; the shell rows read the same two objects
# (plain .sql.gz / .sql.zst) with the AWS CLI. Every row restores into a database of its own, created by the row
# (backhaul: --create; shell: createdb), checked, then dropped:
#   (r) backhaul restore PIPELINE --key KEY --target-database DB --create   (S3 -> decompress -> psql)
#   (s) streaming shell: createdb DB; aws s3 cp s3://bench/KEY - | gunzip | psql -d DB   (zstd -d for zstd)
#   (f) file-based shell: createdb DB; aws s3 cp s3://bench/KEY FILE; gunzip FILE; psql -d DB -f FILE; rm FILE
# each for gzip and zstd. Targets: (r)/(s) <= 1.0 and (r)/(f) <= 0.8, per codec. For reference, no target:
#   (o) backhaul restore PIPELINE --key KEY -o - > /dev/null   (S3 -> decompress only: what is backhaul's in (r))
#
# Environment: SCALE (default 10) is `pgbench -i -s`, plus a text-heavy table `documents` of SCALE x 10,000 rows (as
# bench/e2e); ROUNDS (default 2): every row runs once per round, rows alternate, the fastest round is reported;
# BUILD_DIR (default <repo>/build, release-like, no sanitizers); OUT (default bench/results/<date>-restore.md;
# "-" = do not write).
# Needs: PostgreSQL server binaries, Swift with s3api, the AWS CLI, gzip, zstd, bc, /usr/bin/time (scripts/bootstrap
# installs them all); when run as root, the `postgres` user.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${BUILD_DIR:-$repo/build}
scale=${SCALE:-10}
rounds=${ROUNDS:-2}
cores=$(nproc)
out=${OUT:-$repo/bench/results/$(date -u +%Y-%m-%d)-restore.md}

die() { echo "bench/restore: $*" >&2; exit 2; }
bench_require_s3_stack "$build_dir" gzip zstd /usr/bin/time bc

# ---- Servers and data --------------------------------------------------------------------------------------------

# The cluster and the file-based shell's downloads live on disk, as in production.
bench_start_s3_stack restore
echo "loading pgbench scale $scale plus text ..." >&2
pg_load_bench bench "$scale"
db_size=$("${psql_cmd[@]}" -d postgres -A -t -c "SELECT pg_database_size('bench')")
dump_size=$("$pg_bin/pg_dump" -h "$pg_socket" -p "$pg_port" -U postgres -Fp bench | wc -c)

# What every restore must give: the source's row counts.
counts() {  # counts DATABASE
    "${psql_cmd[@]}" -d "$1" -A -t -c \
        "SELECT (SELECT count(*) FROM pgbench_accounts) || ' ' || (SELECT count(*) FROM documents)"
}
want=$(counts bench)

# ---- The two backups, once, before timing ------------------------------------------------------------------------

pipeline() {  # pipeline NAME TRANSFORM_TABLE
    cat > "$work/$1.toml" <<TOML
name = "$1"
lock_dir = "$work/locks"

[source]
plugin = "source-postgres"
host = "$pg_socket"
port = $pg_port
user = "postgres"
database = "bench"
format = "plain"
pg_dump = "$pg_bin/pg_dump"

[[transform]]
$2

[sink]
plugin = "sink-ncloud-s3"
endpoint = "$s3_endpoint"
region = "us-east-1"
bucket = "bench"
access_key = "\${env:AWS_ACCESS_KEY_ID}"
secret_key = "\${env:AWS_SECRET_ACCESS_KEY}"
key = "$1/%Y%m%d%H%M%S{ext}"
TOML
}
pipeline gzip "plugin = \"compress-gzip\"
level = 6
threads = $cores"
pipeline zstd "plugin = \"compress-zstd\"
level = 3
threads = $cores"
mkdir -p "$work/locks"

declare -A key stored
for codec in gzip zstd; do
    echo "backing up with compress-$codec ..." >&2
    "$backhaul" --log-level info run "$work/$codec.toml" --no-progress 2> "$work/backup-$codec.log" ||
        { cat "$work/backup-$codec.log" >&2; die "backhaul run with compress-$codec failed"; }
    key[$codec]=$(sed -n 's/.*backup committed: pipeline=[^ ]* key=\([^ ]*\) .*/\1/p' "$work/backup-$codec.log" | tail -n 1)
    [ -n "${key[$codec]}" ] || die "no key in the $codec backup's log ($work/backup-$codec.log)"
    stored[$codec]=$("$aws" --endpoint-url "$s3_endpoint" s3api head-object --bucket bench --key "${key[$codec]}" \
        --query ContentLength --output text)
done

# ---- Rows --------------------------------------------------------------------------------------------------------

createdb_cmd="$pg_bin/createdb -h $pg_socket -p $pg_port -U postgres"
psql_shell="$pg_bin/psql -X -q -v ON_ERROR_STOP=1 -h $pg_socket -p $pg_port -U postgres"
aws_cp="$aws --endpoint-url $s3_endpoint s3 cp --only-show-errors"
declare -A decompress=([gzip]="gunzip -c" [zstd]="zstd -d -q -c") unpack=([gzip]="gunzip" [zstd]="zstd -d -q --rm")
declare -A ext=([gzip]=gz [zstd]=zst)

declare -A wall cpu rss
row_labels=(r-gzip s-gzip f-gzip o-gzip r-zstd s-zstd f-zstd o-zstd)
declare -A row_title=(
    [r-gzip]="(r) backhaul restore, gzip"
    [s-gzip]="(s) aws s3 cp - \| gunzip \| psql"
    [f-gzip]="(f) aws s3 cp file; gunzip; psql -f; rm"
    [o-gzip]="(o) backhaul restore -o - > /dev/null, gzip"
    [r-zstd]="(r) backhaul restore, zstd"
    [s-zstd]="(s) aws s3 cp - \| zstd -d \| psql"
    [f-zstd]="(f) aws s3 cp file; zstd -d; psql -f; rm"
    [o-zstd]="(o) backhaul restore -o - > /dev/null, zstd"
)

run_row() {  # run_row LABEL ROUND
    local label=$1 codec=${1#*-} db=restore_${1//-/_}_$2 tmp=$work/tmp-$1 command
    rm -rf "$tmp"
    mkdir -p "$tmp"
    case $label in
        r-*) command="$backhaul --log-level warn restore $work/$codec.toml --key ${key[$codec]} \
--target-database $db --create > /dev/null 2> $work/$label.log" ;;
        o-*) command="$backhaul --log-level warn restore $work/$codec.toml --key ${key[$codec]} -o - \
> /dev/null 2> $work/$label.log" ;;
        s-*) command="set -euo pipefail; $createdb_cmd $db
$aws_cp s3://bench/${key[$codec]} - | ${decompress[$codec]} | $psql_shell -d $db > /dev/null" ;;
        f-*) command="set -euo pipefail; $createdb_cmd $db
$aws_cp s3://bench/${key[$codec]} $tmp/dump.sql.${ext[$codec]}
${unpack[$codec]} $tmp/dump.sql.${ext[$codec]}
$psql_shell -d $db -f $tmp/dump.sql > /dev/null
rm $tmp/dump.sql" ;;
    esac
    # /usr/bin/time measures the shell and everything it waits for: every client process, not the servers.
    TMPDIR=$tmp run_timed "$work/time" bash -c "$command" ||
        { cat "$work/$label.log" 2>/dev/null >&2; die "row $label failed"; }
    if [ "${label%%-*}" != o ]; then
        local got
        got=$(counts "$db") || die "row $label: the restored database $db cannot be read"
        [ "$got" = "$want" ] ||
            die "row $label restored wrong: pgbench_accounts and documents have $got rows in $db, $want in the source"
        "${psql_cmd[@]}" -d postgres -c "DROP DATABASE $db" >/dev/null
    fi
    local w c m
    read -r w c m < "$work/time"
    if [ -z "${wall[$label]:-}" ] || (($(echo "$w < ${wall[$label]}" | bc -l))); then
        wall[$label]=$w
        cpu[$label]=$c
        rss[$label]=$((m / 1024))
    fi
    rm -rf "$tmp"
}

for ((round = 1; round <= rounds; ++round)); do
    for label in "${row_labels[@]}"; do
        echo "round $round/$rounds: ${row_title[$label]//\\/}" >&2
        run_row "$label" "$round"
    done
done

# ---- Report ------------------------------------------------------------------------------------------------------

# Rounded to 3 decimals: bc's scale truncates, which made 1.003 read as 1.00 against a target of 1.00.
ratio() { awk -v a="${wall[$1]}" -v b="${wall[$2]}" 'BEGIN { printf "%.3f", a / b }'; }
mib() { echo "scale=1; $1 / 1048576" | bc -l | sed 's/^\./0./'; }
table() {
    echo "| row | wall s | CPU s | peak RSS MiB | /(s) | /(f) |"
    echo "|---|---:|---:|---:|---:|---:|"
    local label codec
    for label in "${row_labels[@]}"; do
        codec=${label#*-}
        echo "| ${row_title[$label]} | ${wall[$label]} | ${cpu[$label]} | ${rss[$label]} |" \
            "$(ratio "$label" "s-$codec") | $(ratio "$label" "f-$codec") |"
    done
}
targets() {
    echo "| target | measured | met |"
    echo "|---|---:|---|"
    met() { (($(echo "$1 <= $2" | bc -l))) && echo yes || echo no; }
    local x codec
    for codec in gzip zstd; do
        x=$(ratio "r-$codec" "s-$codec") && echo "| $codec: backhaul / streaming shell <= 1.0 | $x | $(met "$x" 1.0) |"
        x=$(ratio "r-$codec" "f-$codec") && echo "| $codec: backhaul / file-based shell <= 0.8 | $x | $(met "$x" 0.8) |"
    done
    echo "| backhaul restore peak RSS (gzip, zstd) | ${rss[r-gzip]}, ${rss[r-zstd]} MiB | |"
    echo "| reference: (o)/(r), the share of (r) that is S3 + decompression (gzip, zstd) |" \
        "$(ratio o-gzip r-gzip), $(ratio o-zstd r-zstd) | |"
}

report=$(
    echo "# Restore benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $cores cores," \
        "$(free -g | awk '/^Mem:/ {print $2}') GiB RAM; $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
    echo "- PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') (fsync off) and Swift s3api on loopback," \
        "both on the same $cores cores as backhaul, psql and the shell tools: every restore's psql and server backend" \
        "compete with the decompression for them"
    echo "- data: pgbench -i -s $scale + $((scale * 10000)) text rows: database $(mib "$db_size") MiB," \
        "plain dump $(mib "$dump_size") MiB; stored gzip -6 $(mib "${stored[gzip]}") MiB," \
        "zstd -3 $(mib "${stored[zstd]}") MiB (backhaul's objects, read by every row)"
    echo "- tools: $(gzip --version | head -1), zstd $(zstd --version | grep -o 'v[0-9.]*')," \
        "$("$aws" --version 2>&1 | awk '{print $1}'), $("$backhaul" --version 2>&1 | head -1)"
    echo "- every row restores into a new database it creates (backhaul --create; the shell rows run createdb), checked" \
        "(row counts of pgbench_accounts and documents as in the source) and dropped outside the timing"
    echo "- $rounds rounds, rows alternating, fastest round reported;" \
        "CPU = user + sys of every client process (backhaul or the shell, aws, the decompressor, psql), not the" \
        "PostgreSQL or Swift servers; peak RSS = the largest single client process (wait4), psql included"
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
