#include "create_role_filter.hpp"

namespace backhaul {
namespace {

// pg_dumpall's fmtId output: a lower-case identifier as is, anything else double-quoted with "" for ".
bool is_identifier(std::string_view text) {
    if (text.empty()) return false;
    if (text.front() == '"') {
        if (text.size() < 2 || text.back() != '"') return false;
        for (size_t i = 1; i + 1 < text.size(); ++i) {
            if (text[i] != '"') continue;
            if (i + 2 >= text.size() || text[i + 1] != '"') return false;  // a lone quote ends the identifier early
            ++i;
        }
        return true;
    }
    for (char c : text)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$')) return false;
    return !(text.front() >= '0' && text.front() <= '9');
}

// The name an identifier of is_identifier's form stands for.
std::string identifier_name(std::string_view text) {
    if (text.front() != '"') return std::string(text);
    std::string name;
    for (size_t i = 1; i + 1 < text.size(); ++i) {
        name.push_back(text[i]);
        if (text[i] == '"') ++i;  // "" stands for "
    }
    return name;
}

// The length of the identifier at the start of `text` (is_identifier's form), 0 if there is none.
size_t identifier_length(std::string_view text) {
    if (text.empty()) return 0;
    if (text.front() == '"') {
        for (size_t i = 1; i < text.size(); ++i) {
            if (text[i] != '"') continue;
            if (i + 1 < text.size() && text[i + 1] == '"') {
                ++i;
                continue;
            }
            return i + 1;
        }
        return 0;
    }
    size_t n = 0;
    while (n < text.size() && text[n] != ' ') ++n;
    return is_identifier(text.substr(0, n)) ? n : 0;
}

}  // namespace

std::string without_password_of(std::string_view line, const std::string& role, bool* stripped) {
    constexpr std::string_view prefix = "ALTER ROLE ";
    if (role.empty() || !line.starts_with(prefix) || !line.ends_with(";")) return std::string(line);
    std::string_view rest = line.substr(prefix.size());
    const size_t length = identifier_length(rest);
    if (length == 0 || identifier_name(rest.substr(0, length)) != role) return std::string(line);
    if (!rest.substr(length).starts_with(" WITH ")) return std::string(line);
    // pg_dumpall writes the hash as a standard string literal ('' for '), after the attribute keywords.
    constexpr std::string_view clause = " PASSWORD '";
    const size_t start = line.find(clause);
    if (start == std::string_view::npos) return std::string(line);
    size_t end = start + clause.size();
    for (;; ++end) {
        if (end >= line.size()) return std::string(line);  // no closing quote: not pg_dumpall's, left alone
        if (line[end] != '\'') continue;
        if (end + 1 < line.size() && line[end + 1] == '\'') {
            ++end;
            continue;
        }
        break;
    }
    *stripped = true;
    return std::string(line.substr(0, start)) + std::string(line.substr(end + 1));
}

std::string idempotent_create_role(std::string_view line) {
    constexpr std::string_view prefix = "CREATE ROLE ";
    if (!line.starts_with(prefix) || !line.ends_with(";")) return std::string(line);
    std::string_view name = line.substr(prefix.size(), line.size() - prefix.size() - 1);
    if (!is_identifier(name)) return std::string(line);
    // A dollar-quote tag the name cannot end early (a quoted name may contain "$bh$").
    std::string tag = "$bh$";
    for (int n = 0; line.find(tag) != std::string_view::npos; ++n) tag = "$bh" + std::to_string(n) + "$";
    return "DO " + tag + " BEGIN CREATE ROLE " + std::string(name) +
           "; EXCEPTION WHEN duplicate_object THEN NULL; END " + tag + ";";
}

void CreateRoleFilter::feed(std::string_view data, std::string& out) {
    while (!data.empty()) {
        size_t newline = data.find('\n');
        std::string_view piece = data.substr(0, newline == std::string_view::npos ? data.size() : newline);
        if (passing_through_) {
            out.append(piece);
        } else if (line_.size() + piece.size() > kMaxLine) {
            out.append(line_).append(piece);
            line_.clear();
            passing_through_ = true;
        } else {
            line_.append(piece);
        }
        if (newline == std::string_view::npos) return;
        if (!passing_through_) out.append(filtered(line_));
        out.push_back('\n');
        line_.clear();
        passing_through_ = false;
        data.remove_prefix(newline + 1);
    }
}

std::string CreateRoleFilter::filtered(std::string_view line) {
    return without_password_of(idempotent_create_role(line), restoring_role_, &kept_password_);
}

void CreateRoleFilter::finish(std::string& out) {
    if (!passing_through_ && !line_.empty()) out.append(filtered(line_));
    line_.clear();
    passing_through_ = false;
}

}  // namespace backhaul
