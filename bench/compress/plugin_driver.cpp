// Pushes a file through one transform plugin in ENCODE direction, the way the engine does (1 MiB writes), without the
// rest of the pipeline: measures the plugin alone. Built by run.sh; not part of the CMake build.
//
//   plugin_driver PLUGIN INPUT OUTPUT [option=integer ...]
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "plugin_harness.hpp"

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s PLUGIN INPUT OUTPUT [option=integer ...]\n", argv[0]);
        return 2;
    }
    backhaul::harness::OptionList options;
    for (int i = 4; i < argc; ++i) {
        std::string option = argv[i];
        size_t eq = option.find('=');
        options.emplace_back(option.substr(0, eq), static_cast<int64_t>(std::stoll(option.substr(eq + 1))));
    }
    backhaul::harness::Plugin plugin(argv[1]);
    backhaul::harness::Instance instance(plugin, options);
    if (instance.create_status() != BH_OK) {
        std::fprintf(stderr, "create: %s\n", instance.last_error().c_str());
        return 1;
    }
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) {
        std::perror(argv[2]);
        return 1;
    }
    backhaul::harness::TransformStream stream(instance, BH_ENCODE);
    bh_status status = stream.open_status();
    std::vector<char> buffer(1 << 20);
    ssize_t n = 0;
    while (status == BH_OK && (n = read(fd, buffer.data(), buffer.size())) > 0)
        status = stream.write(std::string_view(buffer.data(), static_cast<size_t>(n)));
    close(fd);
    if (status == BH_OK) status = stream.finish();
    if (status != BH_OK || n < 0) {
        std::fprintf(stderr, "compression failed: %s\n", instance.last_error().c_str());
        return 1;
    }
    std::ofstream(argv[3], std::ios::binary) << stream.output();
    return 0;
}
