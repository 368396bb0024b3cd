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

}  // namespace

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
        if (!passing_through_) out.append(idempotent_create_role(line_));
        out.push_back('\n');
        line_.clear();
        passing_through_ = false;
        data.remove_prefix(newline + 1);
    }
}

void CreateRoleFilter::finish(std::string& out) {
    if (!passing_through_ && !line_.empty()) out.append(idempotent_create_role(line_));
    line_.clear();
    passing_through_ = false;
}

}  // namespace backhaul
