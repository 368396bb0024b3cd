#!/usr/bin/env bash
# S3 upload benchmark (issue 4): the same stream uploaded to a local Swift s3api by backhaul (source-command ->
# sink-ncloud-s3) and by `aws s3 cp -` with the same part size and concurrency, in the same run. Prints the time ratio
# (target <= 1.0) and backhaul's peak RSS (target <= concurrency x part_size + 32 MiB). Reports; asserts nothing.
#
#   bench/s3/run.sh
#
# Environment: BUILD_DIR (default <repo>/build) holds bin/backhaul and the plugins, built in a release-like mode;
# SIZE_MIB (default 512) is the stream size; PART_MIB (default 16) and CONCURRENCY (default 4) apply to both clients;
# WORK_DIR (default /dev/shm when it exists) holds the input, so the disk is not what is measured.
# Needs: Swift with s3api (scripts/bootstrap), the AWS CLI, /usr/bin/time.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${BUILD_DIR:-$repo/build}
backhaul=$build_dir/bin/backhaul
size_mib=${SIZE_MIB:-512}
part_mib=${PART_MIB:-16}
concurrency=${CONCURRENCY:-4}
work_parent=${WORK_DIR:-$([ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")}
aws=$([ -x /usr/bin/aws ] && echo /usr/bin/aws || command -v aws || true)

die() { echo "run.sh: $*" >&2; exit 2; }
[ -n "$aws" ] || die "the AWS CLI is not installed"
[ -x /usr/bin/time ] || die "/usr/bin/time is not installed"
[ -x "$backhaul" ] || die "$backhaul not found: build it first (cmake --build $build_dir) or set BUILD_DIR"
for plugin in source-command sink-ncloud-s3; do
    [ -f "$build_dir/lib/backhaul/plugins/$plugin.so" ] || die "plugin $plugin not built in $build_dir"
done

work=$(mktemp -d "$work_parent/backhaul-s3-bench-XXXXXX")
swift_pid=""
cleanup() {
    exec 3>&-
    if [ -n "$swift_pid" ]; then kill "$swift_pid" 2>/dev/null || true; wait "$swift_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# The S3 server: Swift on loopback, from a temp dir (tests/support/swift_s3_server.py prints "READY <port>").
# Its stdin stays open (fd 3) for as long as this script runs: the launcher stops when it closes.
mkfifo "$work/swift.out" "$work/swift.in"
/usr/bin/python3 "$repo/tests/support/swift_s3_server.py" "$work/swift" < "$work/swift.in" > "$work/swift.out" &
swift_pid=$!
exec 3> "$work/swift.in"
read -r ready port < "$work/swift.out" || true
[ "${ready:-}" = READY ] || die "Swift did not start: ${ready:-} ${port:-} (logs in $work/swift)"
endpoint=http://127.0.0.1:$port

export AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_SHARED_CREDENTIALS_FILE=$work/aws-credentials
export AWS_CONFIG_FILE=$work/aws-config
cat > "$AWS_CONFIG_FILE" <<CONFIG
[default]
s3 =
    multipart_chunksize = ${part_mib}MB
    multipart_threshold = ${part_mib}MB
    max_concurrent_requests = $concurrency
CONFIG
"$aws" --endpoint-url "$endpoint" s3api create-bucket --bucket bench > /dev/null

echo "generating ${size_mib} MiB of random input in $work ..."
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/input.bin"

cat > "$work/pipeline.toml" <<TOML
name = "s3bench"

[source]
plugin = "source-command"
command = ["cat", "$work/input.bin"]

[sink]
plugin = "sink-ncloud-s3"
endpoint = "$endpoint"
region = "us-east-1"
bucket = "bench"
key = "backhaul.bin"
access_key = "test:tester"
secret_key = "\${env:AWS_SECRET_ACCESS_KEY}"
part_size = "${part_mib}MiB"
concurrency = $concurrency
TOML

# Runs a command under /usr/bin/time -v; sets elapsed (seconds) and rss_kib.
measure() {
    /usr/bin/time -v -o "$work/time.txt" "$@" > "$work/out.txt" 2>&1 || { cat "$work/out.txt" >&2; die "failed: $*"; }
    elapsed=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$work/time.txt")
    rss_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
}

measure sh -c "cat '$work/input.bin' | '$aws' --endpoint-url '$endpoint' s3 cp - s3://bench/aws.bin"
aws_s=$elapsed aws_rss=$rss_kib
measure "$backhaul" run "$work/pipeline.toml"
bh_s=$elapsed bh_rss=$rss_kib

# Both objects must be the input, or the timing means nothing.
for key in aws.bin backhaul.bin; do
    size=$("$aws" --endpoint-url "$endpoint" s3api head-object --bucket bench --key "$key" --query ContentLength)
    [ "$size" = "$((size_mib * 1024 * 1024))" ] || die "s3://bench/$key has $size bytes"
done

awk -v s="$size_mib" -v p="$part_mib" -v c="$concurrency" -v a="$aws_s" -v b="$bh_s" -v ar="$aws_rss" \
    -v br="$bh_rss" 'BEGIN {
    printf "upload of %d MiB to Swift s3api, part size %d MiB, concurrency %d\n", s, p, c
    printf "  %-12s %8.2f s  %8.1f MiB/s  peak RSS %7.1f MiB\n", "aws s3 cp", a, s / a, ar / 1024
    printf "  %-12s %8.2f s  %8.1f MiB/s  peak RSS %7.1f MiB\n", "backhaul", b, s / b, br / 1024
    printf "time ratio backhaul / aws: %.2f (target <= 1.0)\n", b / a
    printf "backhaul peak RSS %.1f MiB, target <= %d MiB (concurrency x part_size + 32 MiB)\n", br / 1024, c * p + 32
}'
