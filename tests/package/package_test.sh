#!/usr/bin/env bash
# The Debian packages work on a clean machine: scripts/package builds them, lintian finds no error in them, and a fresh
# Debian 12 root (scripts/debian-rootfs: mmdebstrap minbase, the two .debs and a compiler installed by apt) runs
# `backhaul plugins`, a local backup with list and restore as the backhaul user, and the example out-of-tree plugin
# built from backhaul-dev's own copy, installed by a plain `cmake --install` and used by a pipeline.
#
#   package_test.sh SOURCE_DIR WORK_DIR
#
# WORK_DIR keeps the package build tree between runs (scripts/package reuses it); each run's root lives in a fresh
# temporary directory below it, removed on success and kept (its path printed) on failure.
# Needs root (chroot, mmdebstrap), mmdebstrap, lintian and the network to the Debian mirror. Without them it is skipped
# (exit 77), except under CI=true, where a skip would hide that packaging is untested: there it fails.
set -euo pipefail
test_name=package_test
# shellcheck source=../support/test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/test_lib.sh"

check_usage 2 $# "package_test.sh SOURCE_DIR WORK_DIR"
source_dir=$(realpath "$1")
work_dir=$(realpath -m "$2")

missing=""
((EUID == 0)) || missing="root (chroot and mmdebstrap need it)"
for tool in mmdebstrap lintian unshare; do
    command -v "$tool" >/dev/null || missing="${missing:+$missing, }$tool"
done
[[ -z $missing ]] || skip "this machine lacks $missing"

mkdir -p "$work_dir"
work=$(mktemp -d "$work_dir/run.XXXXXX")
root=$work/root
keep_work_on_failure

# Runs a command inside the root: its own mount and pid namespaces with a fresh /proc (the core finds its plugins
# through /proc/self/exe) and the host's /dev, a clean environment. Output into $work/out and $work/err; sets $status.
in_root() {
    set +e
    unshare --mount --pid --fork --mount-proc="$root/proc" -- \
        sh -c 'mount --rbind /dev "$1/dev" && shift && exec chroot "$@"' sh "$root" "$root" \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@" >"$work/out" 2>"$work/err"
    status=$?
    set -e
}

# in_root, and fails the test with `what` unless the command exits 0.
in_root_ok() {
    local what=$1
    shift
    in_root "$@"
    expect_status 0 "$what"
}

started=$SECONDS
echo "== scripts/package $work_dir/debs"
"$source_dir/scripts/package" "$work_dir/debs" >"$work/debs" 2>"$work/package.log" || {
    tail -50 "$work/package.log" >&2
    fail "scripts/package"
}
runtime_deb=$(grep '/backhaul_[^/]*\.deb$' "$work/debs") || fail "scripts/package printed no backhaul_*.deb: $(cat "$work/debs")"
dev_deb=$(grep '/backhaul-dev_[^/]*\.deb$' "$work/debs") || fail "scripts/package printed no backhaul-dev_*.deb: $(cat "$work/debs")"
version=$(dpkg-deb -f "$runtime_deb" Version)
arch=$(dpkg-deb -f "$runtime_deb" Architecture)
[[ $(basename "$runtime_deb") == "backhaul_${version}_${arch}.deb" ]] || fail "unexpected file name $runtime_deb"
echo "   $(basename "$runtime_deb") $(basename "$dev_deb") in $((SECONDS - started)) s"

echo "== control fields"
depends=$(dpkg-deb -f "$runtime_deb" Depends)
# Computed by dpkg-shlibdeps from what the binary and the plugins link.
for library in libc6 libstdc++6 libssl3 libcurl4 libpq5 libzstd1 zlib1g; do
    grep -q "\b$library\b" <<<"$depends" || fail "backhaul does not depend on $library: $depends"
done
[[ $(dpkg-deb -f "$runtime_deb" Recommends) == *postgresql-client* ]] || fail "backhaul does not recommend postgresql-client"
dev_depends=$(dpkg-deb -f "$dev_deb" Depends)
[[ $dev_depends == *"backhaul (= $version)"* ]] || fail "backhaul-dev does not depend on backhaul (= $version): $dev_depends"
# What the CMake package's find_dependency() calls need for Backhaul::plugin_support.
for package in libssl-dev libcurl4-openssl-dev nlohmann-json3-dev; do
    grep -q "\b$package\b" <<<"$dev_depends" || fail "backhaul-dev does not depend on $package: $dev_depends"
done

echo "== lintian"
# --fail-on error: warnings and the rest are shown, only errors fail (docs/packaging.md lists what it says and why).
if ! lintian --fail-on error --no-tag-display-limit "$runtime_deb" "$dev_deb" >"$work/lintian.log" 2>&1; then
    cat "$work/lintian.log" >&2
    fail "lintian reports errors"
fi
sed 's/^/   /' "$work/lintian.log"

echo "== a clean Debian root with both packages and a compiler"
step=$SECONDS
run_quiet "scripts/debian-rootfs" \
    "$source_dir/scripts/debian-rootfs" "$work/root.tar" "$runtime_deb" "$dev_deb" g++ cmake make
mkdir "$root"
tar -C "$root" -xpf "$work/root.tar"
rm "$work/root.tar"
echo "   made in $((SECONDS - step)) s"

echo "== installed files, the system user, /etc/backhaul"
in_root_ok "dpkg -L backhaul" dpkg -L backhaul
files=$(cat "$work/out")
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
plugin_dir=/usr/lib/$multiarch/backhaul/plugins
for path in /usr/bin/backhaul "$plugin_dir/sink-local.so" /usr/lib/systemd/system/backhaul@.service \
    /usr/lib/systemd/system/backhaul@.timer /usr/lib/sysusers.d/backhaul.conf /usr/share/man/man1/backhaul.1.gz \
    /usr/share/bash-completion/completions/backhaul /usr/share/doc/backhaul/copyright \
    /usr/share/doc/backhaul/docs/operations.md /usr/share/doc/backhaul/examples/local-command-gzip.toml /etc/backhaul; do
    grep -qx "$path" <<<"$files" || fail "backhaul does not install $path"
done
in_root_ok "dpkg -L backhaul-dev" dpkg -L backhaul-dev
dev_files=$(cat "$work/out")
for path in /usr/include/backhaul/sdk.hpp /usr/include/backhaul/support/http/http_client.hpp \
    /usr/include/backhaul/testkit/targets.hpp /usr/share/backhaul/testkit/sink_contract.cpp \
    "/usr/lib/$multiarch/cmake/Backhaul/BackhaulTestKit.cmake" \
    "/usr/lib/$multiarch/libbackhaul_plugin_support.a" "/usr/lib/$multiarch/cmake/Backhaul/BackhaulTargets.cmake"; do
    grep -qx "$path" <<<"$dev_files" || fail "backhaul-dev does not install $path"
done
in_root_ok "id backhaul" id -un backhaul
in_root_ok "getent passwd backhaul" getent passwd backhaul
[[ $(cut -d: -f7 "$work/out") == /usr/sbin/nologin ]] || fail "the backhaul user has a login shell: $(cat "$work/out")"
in_root_ok "stat /etc/backhaul" stat -c %U:%G:%a /etc/backhaul
[[ $(cat "$work/out") == root:backhaul:750 ]] || fail "/etc/backhaul is $(cat "$work/out"), expected root:backhaul:750"

echo "== backhaul --version, backhaul plugins"
in_root_ok "backhaul --version" backhaul --version
grep -q "$version" "$work/out" || fail "backhaul --version does not say $version: $(cat "$work/out")"
in_root_ok "backhaul plugins" backhaul plugins
listed=$(awk '$1 ~ /^[a-z]+-[a-z0-9-]+$/ { print $1 }' "$work/out" | sort)
expected=$(cd "$source_dir/plugins" && for dir in *-*/; do [[ -f $dir/CMakeLists.txt ]] && echo "${dir%/}"; done | sort)
[[ $listed == "$expected" ]] ||
    fail "backhaul plugins lists other plugins than the first-party ones:$(diff <(echo "$expected") <(echo "$listed"))"

echo "== backhaul keygen age (encrypt-age's helper program in /usr/libexec/backhaul)"
in_root_ok "backhaul keygen age" backhaul keygen age --output /tmp/identity.txt
grep -Eq "^Public key: age1[0-9a-z]+$" "$work/err" || fail "backhaul keygen age printed no recipient: $(cat "$work/err")"
[[ $(stat -c %a "$root/tmp/identity.txt") == 600 ]] || fail "the identity written by keygen is not mode 0600"

echo "== a local pipeline as the backhaul user: run, list, restore"
mkdir -p "$root/srv/data" "$root/var/backups/backhaul"
seq 1 300000 >"$root/srv/data/input.txt"
chroot "$root" chown backhaul:backhaul /var/backups/backhaul /srv/data
cat >"$root/etc/backhaul/local.toml" <<'TOML'
name = "local"

[source]
plugin = "source-command"
command = ["cat", "/srv/data/input.txt"]
restore_command = ["dd", "of=/srv/data/restored.txt", "status=none"]

[[transform]]
plugin = "compress-gzip"

[sink]
plugin = "sink-local"
path = "/var/backups/backhaul"
key = "{pipeline}{ext}"
TOML
chroot "$root" sh -c 'chown root:backhaul /etc/backhaul/local.toml && chmod 0640 /etc/backhaul/local.toml'
in_root_ok "backhaul run" runuser -u backhaul -- backhaul run /etc/backhaul/local.toml
[[ -f $root/var/backups/backhaul/local.gz ]] || fail "backhaul run committed no local.gz"
in_root_ok "backhaul list" runuser -u backhaul -- backhaul list /etc/backhaul/local.toml
grep -q "local.gz" "$work/out" || fail "backhaul list does not show local.gz: $(cat "$work/out")"
in_root_ok "backhaul restore" runuser -u backhaul -- backhaul restore /etc/backhaul/local.toml --key local.gz
cmp "$root/srv/data/input.txt" "$root/srv/data/restored.txt" || fail "the restored file differs from the input"

echo "== the example out-of-tree plugin, built against backhaul-dev"
# The copy backhaul-dev ships: what a third party starts from.
example=/usr/share/doc/backhaul-dev/examples/plugin-source-random
in_root_ok "configuring $example" cmake -S "$example" -B /tmp/random-build -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror"
in_root_ok "building $example" cmake --build /tmp/random-build
# No prefix, no option: the default destination is the installed backhaul's plugin directory.
in_root_ok "cmake --install of the example" cmake --install /tmp/random-build
[[ -f $root$plugin_dir/source-random.so ]] || fail "cmake --install did not put source-random.so into $plugin_dir"
in_root_ok "backhaul plugins" backhaul plugins
awk '$1 == "source-random" && $2 == "source" { found = 1 } END { exit !found }' "$work/out" ||
    fail "backhaul plugins does not list the installed source-random: $(cat "$work/out")"
cat >"$root/etc/backhaul/random.toml" <<'TOML'
name = "random"

[source]
plugin = "source-random"
size = "2MiB"

[[transform]]
plugin = "compress-gzip"

[sink]
plugin = "sink-local"
path = "/var/backups/backhaul"
key = "{pipeline}{ext}"
TOML
in_root_ok "backhaul run with source-random" backhaul run /etc/backhaul/random.toml
# The example's restore regenerates the sequence and checks every byte.
in_root_ok "backhaul restore with source-random" backhaul restore /etc/backhaul/random.toml --key random.gz

echo "== purge"
in_root_ok "dpkg --purge" dpkg --purge backhaul-dev backhaul
in_root dpkg-statoverride --list /etc/backhaul
[[ $status -ne 0 ]] || fail "purge left the statoverride of /etc/backhaul: $(cat "$work/out")"
[[ ! -e $root/usr/bin/backhaul ]] || fail "purge left /usr/bin/backhaul"

echo "package_test: PASS in $((SECONDS - started)) s"
