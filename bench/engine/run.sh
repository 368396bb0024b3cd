#!/usr/bin/env bash
# Framework overhead (issue 8): SIZE of zeros from source-null to sink-null through the real `backhaul run` (plugin
# loading, the stage threads, the bounded queues, every copy), reported in GB/s. The plugins do no work, so whatever
# time this takes is the engine's.
#
#   bench/engine/run.sh            SIZE (default 8GiB), RUNS (default 3, the best is kept), BUILD_DIR (default build/)
#
# The two fixture plugins are compiled here against the header-only SDK into a temp directory (never into the real
# plugin directory). Writes nothing outside the temp dir; prints one line per run and the best. A second series runs
# with digest_stub.c preloaded (EVP_DigestUpdate does nothing): the difference is what the manifest's SHA-256 of the
# stored bytes costs, which runs on the sink's thread.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${BUILD_DIR:-$repo/build}
backhaul=$build_dir/bin/backhaul
size=${SIZE:-8GiB}
runs=${RUNS:-3}

die() { echo "run.sh: $*" >&2; exit 2; }
[ -x "$backhaul" ] || die "$backhaul not found: build it first (scripts/build) or set BUILD_DIR"

work=$(mktemp -d "${TMPDIR:-/tmp}/backhaul-engine-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/plugins"
for plugin in source-null sink-null; do
    # What backhaul_add_plugin does: hidden visibility and only the entry point exported.
    ${CXX:-c++} -std=c++20 -O2 -g -shared -fPIC -fvisibility=hidden -fvisibility-inlines-hidden \
        -I "$repo/sdk/include" -Wl,--version-script=<(printf '{ global: backhaul_plugin_v1; local: *; };\n') \
        -Wl,-z,defs "$repo/bench/engine/${plugin/-/_}.cpp" -o "$work/plugins/$plugin.so"
done

${CC:-cc} -O2 -shared -fPIC "$repo/bench/engine/digest_stub.c" -o "$work/digest_stub.so"

bytes=$(numfmt --from=iec "${size%iB}")
cat >"$work/null.toml" <<TOML
name = "engine-bench"
plugin_path = ["$work/plugins"]

[source]
plugin = "source-null"
size = $bytes

[sink]
plugin = "sink-null"
expect = $bytes
key = "null"
TOML

# series LABEL [ENV...]: RUNS runs of the null pipeline; prints each and the best rate.
series() {
    local label=$1 best=""
    shift
    echo "$label"
    for ((run = 1; run <= runs; ++run)); do
        local start end wall user sys rss_kib elapsed rate
        start=$(date +%s.%N)
        env "$@" /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$backhaul" run "$work/null.toml" >"$work/log" 2>&1 ||
            { cat "$work/log" >&2; die "backhaul run failed"; }
        end=$(date +%s.%N)
        read -r wall user sys rss_kib <"$work/time"
        elapsed=$(echo "$end - $start" | bc -l)
        rate=$(echo "$bytes / $elapsed / 1000000000" | bc -l)
        printf '  run %d: %6.2f s wall, %6.2f s user, %6.2f s sys, %4d MiB peak RSS: %5.2f GB/s\n' \
            "$run" "$elapsed" "$user" "$sys" $((rss_kib / 1024)) "$rate"
        if [ -z "$best" ] || (($(echo "$rate > $best" | bc -l))); then best=$rate; fi
    done
    printf '  best: %.2f GB/s\n' "$best"
}

echo "engine overhead: $size ($bytes bytes) of zeros, source-null -> sink-null, $(nproc) cores, best of $runs" \
    "(target >= 2 GB/s)"
series "as shipped (the core hashes the stored bytes with SHA-256 for the manifest):"
series "without the manifest hash (digest_stub.so preloaded; measurement only):" LD_PRELOAD="$work/digest_stub.so"
