#include "engine/signal_watch.hpp"

#include <csignal>
#include <cstring>
#include <ctime>
#include <string>

namespace backhaul {
namespace {

sigset_t watched_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    return set;
}

}  // namespace

void SignalWatch::install() {
    sigset_t set = watched_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

SignalWatch::SignalWatch(RunControl& control) {
    thread_ = std::thread([this, &control] {
        sigset_t set = watched_signals();
        timespec timeout{0, 100 * 1000 * 1000};
        while (!stop_.load()) {
            int sig = sigtimedwait(&set, nullptr, &timeout);
            if (sig > 0) control.fail(std::string("interrupted by SIG") + sigabbrev_np(sig));
        }
    });
}

SignalWatch::~SignalWatch() {
    stop_ = true;
    thread_.join();
}

}  // namespace backhaul
