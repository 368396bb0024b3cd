// One run per pipeline at a time: an exclusive flock on "<dir>/<pipeline>-<destination hash>.lock". The kernel drops
// the lock when the holder exits, however it exits, so a crashed or killed run never leaves a stale lock; the file's
// content (pid and start time of the holder) is only for the message a second run prints.
#pragma once

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "engine/pipeline_plan.hpp"

namespace backhaul {

// Another run holds the lock: exit code 4. what() names the holder's pid and start time.
class LockBusy : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class RunLock {
  public:
    // Takes the lock of `plan` without waiting, in the pipeline's lock_dir or default_lock_dir(). Throws LockBusy, or
    // RunError if the directory or file cannot be used.
    RunLock(const PipelinePlan& plan, std::chrono::system_clock::time_point started);
    ~RunLock();
    RunLock(const RunLock&) = delete;
    RunLock& operator=(const RunLock&) = delete;

    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
    int fd_ = -1;
};

// What makes two runs "the same pipeline": the same name writing to the same destination (sink plugin, its
// non-secret options, key template). So a pipeline run twice by cron collides, while two test suites or two
// environments that happen to reuse a name with different sinks do not. "<name>-<12 hex digits>.lock".
std::string lock_file_name(const PipelinePlan& plan);

// /run/backhaul if it exists or can be created and is writable, else /tmp/backhaul-<uid> (created 0700, and refused
// unless owned by us). Never from the environment (XDG_RUNTIME_DIR, HOME): the same user's runs from cron and from a
// shell must collide. The lock is host-local: two hosts backing up to one bucket are not serialised.
std::filesystem::path default_lock_dir();

}  // namespace backhaul
