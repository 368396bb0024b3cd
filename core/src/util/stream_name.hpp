// The names of a set's streams (bh_stream_info.name): checked where a source lists them and where a manifest names
// them, so that the key built from one (stream_object_key) never leaves its set.
#pragma once

#include <string>
#include <string_view>

namespace backhaul {

// "" if `name` is well-formed: one or more '/'-separated segments of any bytes but NUL, none empty, "." or "..".
// Otherwise why not ("has an empty segment").
std::string stream_name_problem(std::string_view name);

}  // namespace backhaul
