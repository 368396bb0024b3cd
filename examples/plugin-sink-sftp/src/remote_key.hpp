// Object keys as remote paths: a key is a '/'-separated relative path below the sink's base directory, refused if it
// could leave it, and the temporary names uploads write before their commit.
#pragma once

#include <string>
#include <vector>

namespace backhaul::sftp {

// "2024/05/db.sql.gz" -> directories {"2024", "05"}, file_name "db.sql.gz".
struct RemoteKey {
    std::string key;
    std::vector<std::string> directories;
    std::string file_name;
};

// Throws Error(fatal) "key '<key>' escapes the sink directory" for empty or absolute keys and keys with empty, "." or
// ".." segments, and "key '<key>' is reserved for temporary upload files" for a file name shaped like a temp file.
RemoteKey parse_key(const std::string& key);

// ".<final_name>.backhaul-tmp-<16 hex digits>": hidden, never a key, unique per upload.
std::string temp_file_name(const std::string& final_name);
bool is_temp_file_name(const std::string& file_name);

// "<base>/<segments...>", with exactly one '/' between the parts whatever `base` ends with ("/" stays "/").
std::string join_path(const std::string& base, const std::vector<std::string>& segments, size_t count);
std::string join_path(const std::string& base, const std::string& relative);

}  // namespace backhaul::sftp
