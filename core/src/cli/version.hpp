// `backhaul --version`: what a bug report needs to name this build and the plugins it would load.
#pragma once

namespace backhaul {

// The version, the build's commit (git describe when it was configured), the plugin ABI and every plugin found on
// the search path (name, version, file). A plugin that does not load is listed with its error; it is no error here.
void print_version();

}  // namespace backhaul
