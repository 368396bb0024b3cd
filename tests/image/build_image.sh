#!/usr/bin/env bash
# The image test's first half: scripts/image into WORK_DIR, with a containers storage of its own there (storage.conf),
# so the test neither sees nor changes the machine's images. Writes WORK_DIR/image.txt (the image name, the OCI
# archive) for image_smoke_test, which runs the pipeline inside the image.
#
#   build_image.sh SOURCE_DIR PACKAGE_DIR WORK_DIR
#
# Exits 77 (skipped) without root, buildah, podman or mmdebstrap, except with CI=true, where the image must be built.
set -euo pipefail
test_name=build_image
# shellcheck source=../support/test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/test_lib.sh"

check_usage 3 $# "build_image.sh SOURCE_DIR PACKAGE_DIR WORK_DIR"
source_dir=$1
package_dir=$2
work=$3

((EUID == 0)) || skip "not root (mmdebstrap and buildah's chroot isolation need it)"
for tool in buildah podman mmdebstrap; do
    command -v "$tool" >/dev/null || skip "$tool is not installed"
done

mkdir -p "$work"
work=$(realpath "$work")
storage=$work/storage
export CONTAINERS_STORAGE_CONF=$work/storage.conf
cat >"$CONTAINERS_STORAGE_CONF" <<CONF
[storage]
driver = "overlay"
graphroot = "$storage/graph"
runroot = "$storage/run"
CONF
rm -f "$work/image.txt"
# Each run starts from an empty storage: what the smoke test sees is what this run built.
if [[ -d "$storage" ]]; then
    buildah rm --all >/dev/null 2>&1 || true
    buildah rmi --all --force >/dev/null 2>&1 || true
    rm -rf "$storage"
fi

started=$SECONDS
"$source_dir/scripts/image" --package-dir "$package_dir" "$work/out" >"$work/image.txt.partial"
mv "$work/image.txt.partial" "$work/image.txt"
echo "build_image: built in $((SECONDS - started)) s: $(tr '\n' ' ' <"$work/image.txt")"
