#include "engine/signal_watch.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
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

SignalWatch::SignalWatch(RunControl& control) : control_(control) {
    sigset_t set = watched_signals();
    fd_ = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    control_.set_settle([this] { take(); });
    thread_ = std::thread([this] {
        while (!stop_.load()) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) > 0) take();
        }
    });
}

void SignalWatch::take() {
    if (fd_ < 0) return;
    std::lock_guard lock(mutex_);
    signalfd_siginfo info{};
    while (::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info))
        control_.interrupt(std::string("interrupted by SIG") + sigabbrev_np(static_cast<int>(info.ssi_signo)));
}

SignalWatch::~SignalWatch() {
    stop_ = true;
    thread_.join();
    control_.set_settle(nullptr);
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace backhaul
