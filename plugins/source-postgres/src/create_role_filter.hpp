// Restoring pg_dumpall --globals-only into a cluster that already has some of its roles (at least the bootstrap
// superuser of a fresh cluster): pg_dumpall writes each role as `CREATE ROLE name;` followed by `ALTER ROLE name WITH
// ...`, so only the CREATE can collide. The filter rewrites exactly those lines into a DO block that ignores
// duplicate_object; the ALTER then sets the attributes either way. Everything else passes through byte for byte.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace backhaul {

// `line` (without its newline) as an idempotent statement if it is pg_dumpall's `CREATE ROLE <identifier>;`, else
// unchanged.
std::string idempotent_create_role(std::string_view line);

// idempotent_create_role over a stream, line by line. A line longer than kMaxLine cannot be a CREATE ROLE of a name
// (63 bytes at most, 128 quoted) and passes through unbuffered, so memory stays bounded whatever the input.
class CreateRoleFilter {
  public:
    static constexpr size_t kMaxLine = 4096;

    // Appends the filtered form of `data` to `out` (a line's end may wait for a later call).
    void feed(std::string_view data, std::string& out);
    // The last line, if the input did not end with a newline.
    void finish(std::string& out);

  private:
    std::string line_;
    bool passing_through_ = false;  // inside an overlong line, until its newline
};

}  // namespace backhaul
