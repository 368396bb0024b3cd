#!/usr/bin/env bash
# Runs COMMAND in an image's root file system mounted read-only, as the image's user, with only the given tmpfs
# directories writable: what Kubernetes' readOnlyRootFilesystem with an emptyDir does, for machines where no
# container runtime can start a container (buildah run has no read-only mode). Needs root; everything it mounts lives
# in a private mount namespace and disappears with it.
#
#   run_read_only.sh ROOTFS USER [--tmpfs DIR]... [--bind HOST_DIR:DIR]... -- COMMAND [ARG]...
#
# ROOTFS is a mounted container (buildah mount); USER is uid:gid; bind mounts are read-only.
set -euo pipefail

if [[ $# -lt 4 ]]; then
    echo "usage: run_read_only.sh ROOTFS UID:GID [--tmpfs DIR]... [--bind HOST_DIR:DIR]... -- COMMAND [ARG]..." >&2
    exit 2
fi
if [[ "${RUN_READ_ONLY_INSIDE:-}" != 1 ]]; then
    RUN_READ_ONLY_INSIDE=1 exec unshare --mount --propagation private --fork -- "$0" "$@"
fi
root=$1
user=$2
shift 2
tmpfs=()
binds=()
while (($#)); do
    case "$1" in
        --tmpfs) tmpfs+=("$2"); shift 2 ;;
        --bind) binds+=("$2"); shift 2 ;;
        --) shift; break ;;
        *) echo "run_read_only.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

# Mount points a runtime would create in the container's own layer before the root becomes read-only.
for bind in "${binds[@]}"; do mkdir -p "$root/${bind#*:}"; done
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
for dir in "${tmpfs[@]}"; do mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/$dir"; done
for bind in "${binds[@]}"; do
    mount --bind "${bind%%:*}" "$root/${bind#*:}"
    mount -o remount,bind,ro "$root/${bind#*:}"
done
exec chroot --userspec="$user" "$root" \
    /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
