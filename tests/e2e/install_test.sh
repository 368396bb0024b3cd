#!/usr/bin/env bash
# The installed Backhaul is usable by a third party: its CMake package builds an out-of-tree plugin, and the installed
# `backhaul` finds its own plugins next to itself and the third-party one through BACKHAUL_PLUGIN_PATH.
#
#   install_test.sh BUILD_DIR EXAMPLE_DIR CMAKE CXX_COMPILER
#
# BUILD_DIR is a configured and built Backhaul tree; EXAMPLE_DIR is examples/plugin-source-random. Everything happens in
# a fresh temporary directory, removed on success and kept (its path printed) on failure.
set -euo pipefail

if [[ $# -ne 4 ]]; then
    echo "usage: install_test.sh BUILD_DIR EXAMPLE_DIR CMAKE CXX_COMPILER" >&2
    exit 2
fi
build_dir=$1
example_dir=$2
cmake=$3
cxx=$4
# The first listing must see only the installed plugins, whatever the caller's environment holds.
unset BACKHAUL_PLUGIN_PATH

work=$(mktemp -d "${TMPDIR:-/tmp}/backhaul-install-test.XXXXXX")
prefix=$work/prefix
example_build=$work/example-build
backups=$work/backups
trap 'status=$?; if [[ $status -eq 0 ]]; then rm -rf "$work"; else echo "install_test: kept $work" >&2; fi' EXIT

fail() {
    echo "install_test: FAIL: $*" >&2
    exit 1
}

# Runs a command quietly; on failure shows its output and fails the test with `what`.
run_quiet() {
    local what=$1
    shift
    if ! "$@" >"$work/step.log" 2>&1; then
        cat "$work/step.log" >&2
        fail "$what"
    fi
}

# Runs the installed backhaul, capturing stdout and stderr into $work/out and $work/err; sets $status.
run_backhaul() {
    set +e
    "$prefix/bin/backhaul" "$@" >"$work/out" 2>"$work/err"
    status=$?
    set -e
}

expect_status() {
    local expected=$1 what=$2
    if [[ $status -ne $expected ]]; then
        echo "--- stdout:" >&2
        cat "$work/out" >&2
        echo "--- stderr:" >&2
        cat "$work/err" >&2
        fail "$what: exit status $status, expected $expected"
    fi
}

echo "== install into $prefix"
run_quiet "cmake --install $build_dir" "$cmake" --install "$build_dir" --prefix "$prefix"
[[ -x $prefix/bin/backhaul ]] || fail "no bin/backhaul in the installed tree"
for header in plugin_abi.h sdk.hpp; do
    [[ -f $prefix/include/backhaul/$header ]] || fail "no include/backhaul/$header in the installed tree"
done
package_config=$(find "$prefix" -path '*/cmake/Backhaul/BackhaulConfig.cmake' -print -quit)
[[ -n $package_config ]] || fail "no cmake/Backhaul/BackhaulConfig.cmake in the installed tree"

echo "== build the example plugin against the installed SDK"
# -Werror: an SDK header that warns breaks every third-party build that uses -Werror.
run_quiet "configuring $example_dir against the installed package" \
    "$cmake" -S "$example_dir" -B "$example_build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror"
run_quiet "building $example_dir" "$cmake" --build "$example_build"
plugin=$example_build/source-random.so
[[ -f $plugin ]] || fail "the example build produced no source-random.so"
if command -v nm >/dev/null; then
    exported=$(nm -D --defined-only "$plugin" | awk '{print $NF}')
    [[ $exported == backhaul_plugin_v1 ]] || fail "source-random.so exports more than backhaul_plugin_v1: $exported"
fi

echo "== backhaul plugins"
run_backhaul plugins
expect_status 0 "backhaul plugins"
for name in compress-gzip sink-local source-command; do
    grep -q "^$name " "$work/out" || fail "backhaul plugins does not list the installed plugin $name: $(cat "$work/out")"
done
if grep -q "^source-random " "$work/out"; then
    fail "backhaul plugins lists source-random without BACKHAUL_PLUGIN_PATH"
fi

export BACKHAUL_PLUGIN_PATH=$example_build
run_backhaul plugins
expect_status 0 "backhaul plugins with BACKHAUL_PLUGIN_PATH"
awk '$1 == "source-random" && $2 == "source" && $3 == "1.0.0" { found = 1 } END { exit !found }' "$work/out" ||
    fail "backhaul plugins with BACKHAUL_PLUGIN_PATH does not list 'source-random  source  1.0.0': $(cat "$work/out")"

echo "== backup: source-random -> compress-gzip -> sink-local"
mkdir -p "$backups"
cat >"$work/random.toml" <<TOML
name = "install-test"

[source]
plugin = "source-random"
size = "3MiB"

[[transform]]
plugin = "compress-gzip"

[sink]
plugin = "sink-local"
path = "$backups"
key = "random{ext}"
TOML
run_backhaul run "$work/random.toml"
expect_status 0 "backhaul run"
[[ -f $backups/random.gz ]] || fail "backhaul run committed no random.gz; $backups holds: $(ls -A "$backups")"
[[ -f $backups/random.gz.manifest.json ]] || fail "backhaul run wrote no manifest beside random.gz"
leftovers=$(ls -A "$backups" | grep -vx -e random.gz -e random.gz.manifest.json || true)
[[ -z $leftovers ]] || fail "backhaul run left files beside random.gz: $leftovers"
gzip -dc "$backups/random.gz" >"$work/random.raw" || fail "random.gz is not a valid gzip file"
raw_bytes=$(wc -c <"$work/random.raw")
[[ $raw_bytes -eq 3145728 ]] || fail "random.gz decompresses to $raw_bytes bytes, expected 3145728"

echo "== restore: the example's restore target checks every byte"
run_backhaul restore "$work/random.toml" --key random.gz
expect_status 0 "backhaul restore --key random.gz"

# The restore must be able to fail, or the success above proves nothing: a stream cut short and a stream with other
# bytes are both refused with the example's own message.
head -c 1000 "$work/random.raw" | gzip >"$backups/short.gz"
run_backhaul restore "$work/random.toml" --key short.gz
expect_status 1 "backhaul restore of a truncated stream"
grep -q "restored stream has 1000 bytes, expected 3145728" "$work/err" ||
    fail "restore of a truncated stream did not report the length: $(cat "$work/err")"

head -c 3145728 /dev/zero | gzip >"$backups/zeros.gz"
run_backhaul restore "$work/random.toml" --key zeros.gz
expect_status 1 "backhaul restore of different bytes"
grep -q "restored stream differs from the generated one at byte 0" "$work/err" ||
    fail "restore of different bytes did not report the offset: $(cat "$work/err")"

echo "install_test: PASS"
