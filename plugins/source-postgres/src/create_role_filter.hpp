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

// `line` without its PASSWORD clause if it is pg_dumpall's `ALTER ROLE <identifier> WITH ... PASSWORD '...' ...;` of
// the role named `role` (the name itself, unquoted), else unchanged. Sets `*stripped` when it took one out.
std::string without_password_of(std::string_view line, const std::string& role, bool* stripped);

// idempotent_create_role over a stream, line by line, and without_password_of for `restoring_role`: the role the
// restore is logged in as keeps its password, or the restore's next connection (the databases after the globals)
// could not log in. A line longer than kMaxLine cannot be a CREATE ROLE of a name (63 bytes at most, 128 quoted), nor
// an ALTER ROLE with a password hash, and passes through unbuffered, so memory stays bounded whatever the input.
class CreateRoleFilter {
  public:
    static constexpr size_t kMaxLine = 4096;

    explicit CreateRoleFilter(std::string restoring_role = {}) : restoring_role_(std::move(restoring_role)) {}
    // Whether the backup's password of the restoring role was left out.
    bool kept_restoring_role_password() const { return kept_password_; }

    // Appends the filtered form of `data` to `out` (a line's end may wait for a later call).
    void feed(std::string_view data, std::string& out);
    // The last line, if the input did not end with a newline.
    void finish(std::string& out);

  private:
    std::string filtered(std::string_view line);

    std::string restoring_role_;
    bool kept_password_ = false;
    std::string line_;
    bool passing_through_ = false;  // inside an overlong line, until its newline
};

}  // namespace backhaul
