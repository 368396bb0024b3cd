// The contract kit's shared parts (kit.hpp). BACKHAUL_TESTKIT_BACKHAUL and BACKHAUL_TESTKIT_PLUGIN_DIR come from
// backhaul_add_plugin_tests().
#include "backhaul/testkit/kit.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef BACKHAUL_TESTKIT_BACKHAUL
#error "BACKHAUL_TESTKIT_BACKHAUL must name the backhaul binary (backhaul_add_plugin_tests() defines it)"
#endif
#ifndef BACKHAUL_TESTKIT_PLUGIN_DIR
#define BACKHAUL_TESTKIT_PLUGIN_DIR ""
#endif

namespace backhaul::testkit {
namespace {

// splitmix64: a small, well-mixed generator whose every output depends only on its input.
uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

bool write_all(int fd, const char* data, size_t size) {
    while (size > 0) {
        ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

uint64_t number(const char* text) {
    char* end = nullptr;
    errno = 0;
    unsigned long long value = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') throw std::invalid_argument(std::string("not a number: ") + text);
    return value;
}

// --testkit-generate SIZE SEED [--fail-after N] [--pause-after N GATE_DIR]
int generate(int argc, char** argv) {
    if (argc < 4) return 64;
    Generator g;
    g.size = number(argv[2]);
    g.seed = number(argv[3]);
    for (int i = 4; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--fail-after" && i + 1 < argc) {
            g.fail_after = number(argv[++i]);
        } else if (arg == "--pause-after" && i + 2 < argc) {
            g.pause_after = number(argv[++i]);
            g.gate_dir = argv[++i];
        } else {
            return 64;
        }
    }
    uint64_t written = 0;
    auto stop_at = [&](uint64_t limit) {
        while (written < limit) {
            const uint64_t index = written / kGeneratedBlock;
            const std::string block = generated_block(g.seed, index);
            const size_t from = static_cast<size_t>(written % kGeneratedBlock);
            const size_t count = static_cast<size_t>(std::min<uint64_t>(block.size() - from, limit - written));
            if (!write_all(1, block.data() + from, count)) return false;
            written += count;
        }
        return true;
    };
    if (g.pause_after) {
        if (!stop_at(std::min(*g.pause_after, g.size))) return 1;
        // The bytes are in the pipe (write(2) returned); the test may now act on the run at exactly this point.
        const std::filesystem::path reached = g.gate_dir / "reached";
        const std::filesystem::path partial = g.gate_dir / "reached.partial";
        {
            std::ofstream out(partial);
            out << ::getpid() << "\n";
        }
        std::filesystem::rename(partial, reached);
        int fifo = ::open((g.gate_dir / "gate").c_str(), O_RDONLY);  // blocks until the test opens it for writing
        if (fifo >= 0) {
            char sink[64];
            while (::read(fifo, sink, sizeof sink) > 0) {
            }
            ::close(fifo);
        }
    }
    if (g.fail_after) {
        if (!stop_at(std::min(*g.fail_after, g.size))) return 1;
        std::fprintf(stderr, "testkit generator: failing on purpose after %llu bytes\n",
                     static_cast<unsigned long long>(written));
        return 3;
    }
    return stop_at(g.size) ? 0 : 1;
}

uint64_t fnv1a(std::string_view text) {
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

// --testkit-env-digest NAME RAN_FILE
int env_digest(int argc, char** argv) {
    if (argc != 4) return 64;
    { std::ofstream(argv[3]) << "ran\n"; }
    const char* value = std::getenv(argv[2]);
    if (!value) {
        std::fprintf(stderr, "testkit: %s is not set\n", argv[2]);
        return 3;
    }
    const std::string digest = env_digest_of(value);
    return write_all(1, digest.data(), digest.size()) ? 0 : 1;
}

std::string self_executable() {
    std::error_code ec;
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw std::runtime_error("cannot read /proc/self/exe: " + ec.message());
    return self.string();
}

}  // namespace

std::string generated_block(uint64_t seed, uint64_t index) {
    std::string block(kGeneratedBlock, '\0');
    const uint64_t base = mix(seed * 0x100000001b3ULL ^ index);
    if (index % 2 == 0) {
        for (size_t i = 0; i < block.size(); i += 8) {
            const uint64_t word = mix(base + i);
            std::memcpy(block.data() + i, &word, 8);
        }
    } else {
        std::string line;
        size_t at = 0;
        for (uint64_t n = 0; at < block.size(); ++n) {
            line = "block " + std::to_string(index) + " line " + std::to_string(n) + " seed " + std::to_string(seed) +
                   (n % 7 == 0 ? " -- some repetitive text for compressors --\n" : "\n");
            const size_t count = std::min(line.size(), block.size() - at);
            std::memcpy(block.data() + at, line.data(), count);
            at += count;
        }
    }
    return block;
}

std::string generated(uint64_t seed, uint64_t size) {
    std::string out;
    out.reserve(static_cast<size_t>(size));
    for (uint64_t index = 0; out.size() < size; ++index) {
        const std::string block = generated_block(seed, index);
        out.append(block, 0, static_cast<size_t>(std::min<uint64_t>(block.size(), size - out.size())));
    }
    return out;
}

std::string differs_from_generated(const std::filesystem::path& file, uint64_t seed, uint64_t size) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return "cannot open " + file.string();
    std::string chunk(kGeneratedBlock, '\0');
    for (uint64_t index = 0, offset = 0; offset < size; ++index) {
        const std::string block = generated_block(seed, index);
        const size_t expected = static_cast<size_t>(std::min<uint64_t>(block.size(), size - offset));
        in.read(chunk.data(), static_cast<std::streamsize>(expected));
        const size_t got = static_cast<size_t>(in.gcount());
        for (size_t i = 0; i < got; ++i)
            if (chunk[i] != block[i]) return "differs at byte " + std::to_string(offset + i);
        if (got < expected)
            return "ends after " + std::to_string(offset + got) + " of " + std::to_string(size) + " bytes";
        offset += expected;
    }
    if (in.peek() != std::ifstream::traits_type::eof())
        return "is longer than the " + std::to_string(size) + " bytes expected";
    return "";
}

std::vector<std::string> Generator::argv() const {
    std::vector<std::string> out = {self_executable(), "--testkit-generate", std::to_string(size),
                                    std::to_string(seed)};
    if (fail_after) out.insert(out.end(), {"--fail-after", std::to_string(*fail_after)});
    if (pause_after) out.insert(out.end(), {"--pause-after", std::to_string(*pause_after), gate_dir.string()});
    return out;
}

Gate::Gate(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    if (::mkfifo((dir_ / "gate").c_str(), 0600) != 0)
        throw std::runtime_error("mkfifo " + (dir_ / "gate").string() + ": " + std::strerror(errno));
}

Gate::~Gate() { release(); }

void Gate::wait_reached() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    const std::filesystem::path reached = dir_ / "reached";
    while (!std::filesystem::exists(reached)) {
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("the generator never reached its pause point (" + reached.string() + ")");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::ifstream in(reached);
    in >> generator_pid_;
}

void Gate::release() {
    if (released_) return;
    released_ = true;
    if (generator_pid_ == 0) {
        std::ifstream in(dir_ / "reached");
        if (!(in >> generator_pid_)) return;  // the generator never got here: nothing waits
    }
    // Between writing `reached` and opening the fifo the generator is not yet a reader, and a non-blocking open for
    // writing fails with ENXIO: retry until it opens (the generator is let go) or the generator is gone.
    while (process_alive(generator_pid_)) {
        int fd = ::open((dir_ / "gate").c_str(), O_WRONLY | O_NONBLOCK);
        if (fd >= 0) {
            ::close(fd);
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

bool process_alive(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(stat, text)) return false;
    const size_t paren = text.rfind(')');
    return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z' && text[paren + 2] != 'X';
}

std::optional<int> run_helper_mode(int argc, char** argv) {
    if (argc < 2) return std::nullopt;
    const std::string_view mode = argv[1];
    try {
        if (mode == "--testkit-generate") return generate(argc, argv);
        if (mode == "--testkit-env-digest") return env_digest(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "testkit: %s\n", e.what());
        return 64;
    }
    return std::nullopt;
}

std::vector<std::string> env_digest_argv(const std::string& name, const std::filesystem::path& ran) {
    return {self_executable(), "--testkit-env-digest", name, ran.string()};
}

std::string env_digest_of(std::string_view value) {
    char text[64];
    std::snprintf(text, sizeof text, "length %zu fnv1a %016llx\n", value.size(),
                  static_cast<unsigned long long>(fnv1a(value)));
    return text;
}

const std::string& backhaul_binary() {
    static const std::string path = BACKHAUL_TESTKIT_BACKHAUL;
    return path;
}

Environment backhaul_environment(const Environment& extra) {
    Environment env = extra;
    const std::string plugin_dir = BACKHAUL_TESTKIT_PLUGIN_DIR;
    if (!plugin_dir.empty()) env["BACKHAUL_PLUGIN_PATH"] = plugin_dir;
    return env;
}

CommandResult backhaul(const std::vector<std::string>& args, const Environment& extra) {
    std::vector<std::string> argv = {backhaul_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandOptions options;
    options.env = backhaul_environment(extra);
    return run_command(argv, options);
}

std::string test_id() {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string raw = info ? std::string(info->test_suite_name()) + "-" + info->name() : "outside-a-test";
    std::string id;
    for (char c : raw) id += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
    return id + "-" + std::to_string(::getpid());
}

std::string program_name() {
    std::ifstream comm("/proc/self/comm");
    std::string name;
    std::getline(comm, name);
    return name;
}

std::string toml_quoted(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            char escape[8];
            std::snprintf(escape, sizeof escape, "\\u%04x", u);
            out += escape;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string toml_array(const std::vector<std::string>& items) {
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + toml_quoted(items[i]);
    return out + "]";
}

}  // namespace backhaul::testkit
