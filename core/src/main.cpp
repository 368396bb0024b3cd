#include "cli/cli.hpp"

int main(int argc, char** argv) { return backhaul::run_cli(argc, argv); }
