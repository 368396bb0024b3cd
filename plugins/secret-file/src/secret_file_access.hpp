// Which secret files may be read: the rule of ssh for private keys, widened as PostgreSQL widens it for its key files
// (a file root owns may be readable by a group, e.g. ssl-cert) so that a Kubernetes Secret volume qualifies: the
// kubelet writes each key as root, with the pod's fsGroup as the group, mode defaultMode | 0440 (0400 -> 0440).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace backhaul::secret_file {

// What the checks need to know about the file that was opened (after every symlink) and who opens it.
struct OpenedFile {
    std::string path;            // as configured (option `path`)
    std::string target;          // the file actually opened, when `path` is a symlink to it; else empty
    mode_t mode = 0;             // st_mode of the opened file
    uid_t owner = 0;             // st_uid of the opened file
    uid_t reader = 0;            // geteuid() of this process
    bool secret_volume = false;  // `path` lies in a Kubernetes Secret (or ConfigMap/projected) volume
};

// Empty when the file may be read, else the one-line reason with the fix that can be applied where the file is:
// chmod for an ordinary file, the volume's defaultMode for a Secret volume (read-only: chmod is impossible there).
//   - a regular file only;
//   - owned by the reader or by root (a file another user owns could be replaced by them);
//   - no permission for others, ever;
//   - for group: nothing if the reader owns the file, read only if root does (at most 0640).
std::string access_problem(const OpenedFile& file);

// True when `path`'s directory has the kubelet's `..data` symlink (DIR/..data -> ..2026_12_01_03_15_00.123456789,
// DIR/KEY -> ..data/KEY), the layout of Secret, ConfigMap, projected and downward API volumes.
bool in_secret_volume(const std::filesystem::path& path);

// The text after "cannot open secret file 'PATH': strerror" for an open that failed with `error`: how to fix it in a
// Secret volume (EACCES there means the pod has no fsGroup, so the root-owned file is not readable by this user).
std::string open_failure_hint(int error, bool secret_volume);

}  // namespace backhaul::secret_file
