// The main() of every contract test program. The same program is also the source the suites run (the generated
// stream, the environment digest): the kit needs no tool of its own on the machine.
#include <gtest/gtest.h>

#include "backhaul/testkit/kit.hpp"

int main(int argc, char** argv) {
    if (std::optional<int> helper = backhaul::testkit::run_helper_mode(argc, argv)) return *helper;
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
