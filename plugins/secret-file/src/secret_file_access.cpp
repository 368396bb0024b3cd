#include "secret_file_access.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

namespace backhaul::secret_file {
namespace {

std::string octal_mode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

std::string quoted(const OpenedFile& file) {
    std::string text = "'" + file.path + "'";
    if (!file.target.empty() && file.target != file.path) text += " (a link to '" + file.target + "')";
    return text;
}

}  // namespace

std::string access_problem(const OpenedFile& file) {
    if (!S_ISREG(file.mode)) return "secret file " + quoted(file) + " is not a regular file";
    // Who can replace the file matters more than who can read it now: a chmod would not help.
    if (file.owner != file.reader && file.owner != 0)
        return "secret file " + quoted(file) + " is owned by uid " + std::to_string(file.owner) +
               ", not by this user (uid " + std::to_string(file.reader) + ") or root; chown it to one of them";
    // Root may share a file with a group (read only), as PostgreSQL allows for its key files: that is how a Secret
    // volume reaches a non-root pod (group = fsGroup). A user's own file is theirs alone, as ssh wants.
    const mode_t allowed = file.owner == 0 ? 0740 : 0700;
    const mode_t excess = file.mode & 0777 & ~allowed;
    if (excess == 0) return "";
    const std::string mode = octal_mode(file.mode);
    if (file.secret_volume)
        return "permissions " + mode + " for '" + file.path + "' are too open (" +
               ((excess & 07) ? "others may read it" : "its group may write it") +
               "); it is in a Kubernetes Secret volume, which cannot be chmod'ed: set defaultMode: 0400 on the "
               "volume (with the pod's fsGroup the kubelet makes it 0440, which is accepted)";
    // chmod follows a symlink: name the file it changes.
    const std::string chmod_target = "'" + (file.target.empty() ? file.path : file.target) + "'";
    if (file.owner == 0 && file.reader != 0)
        return "permissions " + mode + " for " + quoted(file) + " are too open; chmod 640 " + chmod_target +
               " (root owns it: a group of this user may read it, others may not)";
    return "permissions " + mode + " for " + quoted(file) + " are too open; chmod 600 " + chmod_target;
}

bool in_secret_volume(const std::filesystem::path& path) {
    std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    struct stat st {};
    return ::lstat((dir / "..data").c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

std::string open_failure_hint(int error, bool secret_volume) {
    if (error == EACCES && secret_volume)
        return "; the kubelet writes a Secret volume's files as root: set the pod's securityContext.fsGroup so that "
               "the file's group is one of this user's (defaultMode: 0400 then becomes 0440)";
    return "";
}

}  // namespace backhaul::secret_file
