#include "engine/run_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <backhaul/common/digest.hpp>
#include <backhaul/common/encoding.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "config/option_binding.hpp"
#include "errors.hpp"
#include "util/time_text.hpp"

namespace backhaul {
namespace {

bool usable_directory(const std::filesystem::path& dir, mode_t mode) {
    if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) return false;
    struct stat st {};
    return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && ::access(dir.c_str(), W_OK | X_OK) == 0;
}

std::string read_holder(int fd) {
    char buffer[256] = {};
    ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    std::string text(buffer, n > 0 ? static_cast<size_t>(n) : 0);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

}  // namespace

std::filesystem::path default_lock_dir() {
    // Nothing from the caller's environment: a run from cron (no XDG_RUNTIME_DIR, no HOME) and one from a login shell
    // must find the same lock, or both proceed.
    if (usable_directory("/run/backhaul", 0755)) return "/run/backhaul";
    return "/tmp/backhaul-" + std::to_string(::getuid());
}

std::string lock_file_name(const PipelinePlan& plan) {
    // Every sink's destination (one sink: the same name as before there were several).
    std::string identity = plan.spec.name + "\n";
    // Validate-mode binding: ${secret:...} stays a placeholder (shown as <redacted>), so no secret is needed here.
    std::set<std::string> ids;
    for (const auto& [id, stage] : plan.spec.secrets) ids.insert(id);
    for (const SinkPlan& sink : plan.sinks) {
        identity += sink.spec->stage.plugin + "\n" + sink.spec->key_template + "\n";
        BoundOptions options = bind_stage_options(sink.stage, ValidationResolver(ids));
        for (const auto& [name, value] : options.display()) identity += name + "=" + value + "\n";
    }
    return plan.spec.name + "-" + common::hex(common::sha256(identity)).substr(0, 12) + ".lock";
}

RunLock::RunLock(const PipelinePlan& plan, std::chrono::system_clock::time_point started) {
    const std::string& pipeline = plan.spec.name;
    std::filesystem::path directory =
        plan.spec.lock_dir.empty() ? default_lock_dir() : std::filesystem::path(plan.spec.lock_dir);
    // Private: the lock names what runs when, and /tmp is shared.
    if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST)
        throw RunError("lock: cannot create directory '" + directory.string() + "': " + std::strerror(errno));
    struct stat st {};
    if (::stat(directory.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw RunError("lock: '" + directory.string() + "' is not a directory");
    if (directory.string().rfind("/tmp/", 0) == 0 && st.st_uid != ::getuid())
        throw RunError("lock: '" + directory.string() + "' belongs to another user");
    path_ = directory / lock_file_name(plan);
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) throw RunError("lock: cannot open '" + path_.string() + "': " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        int error = errno;
        std::string holder = error == EWOULDBLOCK ? read_holder(fd_) : "";
        ::close(fd_);
        fd_ = -1;
        if (error != EWOULDBLOCK) throw RunError("lock: cannot lock '" + path_.string() + "': " + std::strerror(error));
        throw LockBusy("pipeline '" + pipeline + "' is already running (" +
                       (holder.empty() ? std::string("holder unknown") : holder) + "; lock file " + path_.string() +
                       ")");
    }
    std::string holder = "pid " + std::to_string(::getpid()) + ", started " + utc_iso8601(unix_ms(started));
    if (::ftruncate(fd_, 0) == 0) {
        [[maybe_unused]] ssize_t written = ::pwrite(fd_, (holder + "\n").data(), holder.size() + 1, 0);
    }
}

RunLock::~RunLock() {
    if (fd_ < 0) return;
    // The file stays: unlinking it would let a third run lock a new inode while a second still waits on the old one.
    [[maybe_unused]] int truncated = ::ftruncate(fd_, 0);
    ::close(fd_);
}

}  // namespace backhaul
