#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstdio>

#include "cli/cli.hpp"

namespace {

// Backhaul holds secrets (fetched fields, ${env:...} values, plugins' credentials) from the first command on, so a
// core dump would write them to disk. Off for the whole process, before anything is read: no core file (RLIMIT_CORE
// 0, inherited by the children, which get passwords in their environment), and not dumpable, which also stops
// core_pattern pipes (systemd-coredump, apport) that ignore RLIMIT_CORE and other processes of the same user from
// reading our memory or environment through /proc or ptrace.
bool disable_core_dumps() {
    const rlimit none{0, 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        std::fprintf(stderr, "backhaul: cannot disable core dumps: %s\n", strerror(errno));
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (!disable_core_dumps()) return 1;
    return backhaul::run_cli(argc, argv);
}
