#include "dump_arguments.hpp"

#include <backhaul/sdk.hpp>
#include <optional>
#include <string_view>

namespace backhaul {
namespace {

struct Flag {
    std::string_view long_name;
    std::string_view short_name;  // "" if none
    bool takes_value;
};

// pg_dump flags that change what is dumped or how it is written, but not where: the output stays one stream on stdout.
constexpr Flag kAllowed[] = {
    {"--data-only", "-a", false},
    {"--blobs", "-b", false},
    {"--no-blobs", "-B", false},
    {"--clean", "-c", false},
    {"--create", "-C", false},
    {"--encoding", "-E", true},
    {"--extension", "-e", true},
    {"--schema-only", "-s", false},
    {"--superuser", "-S", true},
    {"--verbose", "-v", false},
    {"--compress", "-Z", true},
    {"--attribute-inserts", "", false},
    {"--column-inserts", "", false},
    {"--disable-dollar-quoting", "", false},
    {"--disable-triggers", "", false},
    {"--enable-row-security", "", false},
    {"--exclude-table-data", "", true},
    {"--exclude-table-data-and-children", "", true},
    {"--exclude-table-and-children", "", true},
    {"--table-and-children", "", true},
    {"--extra-float-digits", "", true},
    {"--if-exists", "", false},
    {"--include-foreign-data", "", true},
    {"--inserts", "", false},
    {"--load-via-partition-root", "", false},
    {"--no-comments", "", false},
    {"--no-publications", "", false},
    {"--no-security-labels", "", false},
    {"--no-subscriptions", "", false},
    {"--no-table-access-method", "", false},
    {"--no-tablespaces", "", false},
    {"--no-toast-compression", "", false},
    {"--no-unlogged-table-data", "", false},
    {"--no-sync", "", false},
    {"--no-synchronized-snapshots", "", false},
    {"--on-conflict-do-nothing", "", false},
    {"--quote-all-identifiers", "", false},
    {"--role", "", true},
    {"--rows-per-insert", "", true},
    {"--section", "", true},
    {"--serializable-deferrable", "", false},
    {"--snapshot", "", true},
    {"--strict-names", "", false},
    {"--use-set-session-authorization", "", false},
};

struct Refusal {
    std::string_view long_name;
    std::string_view short_name;
    std::string_view reason;
};

constexpr Refusal kRefused[] = {
    {"--file", "-f", "pg_dump must write to standard output, which Backhaul streams"},
    {"--format", "-F", "use option 'format' (plain or custom; the directory and tar formats cannot stream)"},
    {"--jobs", "-j", "parallel dumps need the directory format, which cannot stream"},
    {"--dbname", "-d", "use options 'database', 'host', 'port' and 'user'"},
    {"--host", "-h", "use option 'host'"},
    {"--port", "-p", "use option 'port'"},
    {"--username", "-U", "use option 'user'"},
    {"--password", "-W", "the password comes from option 'password'"},
    {"--no-password", "-w", "the password comes from option 'password'"},
    {"--schema", "-n", "use option 'schemas'"},
    {"--exclude-schema", "-N", "use option 'exclude_schemas'"},
    {"--table", "-t", "use option 'tables'"},
    {"--exclude-table", "-T", "use option 'exclude_tables'"},
    {"--no-owner", "-O", "use option 'no_owner'"},
    {"--no-privileges", "-x", "use option 'no_privileges'"},
    {"--no-acl", "", "use option 'no_privileges'"},
    {"--lock-wait-timeout", "", "use option 'lock_wait_timeout'"},
    {"--version", "-V", "it prints the version instead of a dump"},
    {"--help", "-?", "it prints help instead of a dump"},
};

// "--name=value" -> "--name"; "-Zvalue" -> "-Z"; anything else unchanged.
std::string_view flag_name(std::string_view arg, bool& value_attached) {
    value_attached = false;
    if (arg.starts_with("--")) {
        size_t eq = arg.find('=');
        value_attached = eq != std::string_view::npos;
        return arg.substr(0, eq);
    }
    value_attached = arg.size() > 2;
    return arg.substr(0, 2);
}

Error refuse(const std::string& arg, std::string_view reason) {
    return invalid_config("extra_args: '" + arg + "' is not allowed: " + std::string(reason));
}

}  // namespace

void check_extra_args(const std::vector<std::string>& extra_args) {
    for (size_t i = 0; i < extra_args.size(); ++i) {
        const std::string& arg = extra_args[i];
        if (arg.size() < 2 || arg[0] != '-')
            throw invalid_config("extra_args: '" + arg + "' is not a flag (the database comes from option 'database')");
        bool value_attached = false;
        std::string_view name = flag_name(arg, value_attached);
        for (const Refusal& refusal : kRefused)
            if (name == refusal.long_name || (!refusal.short_name.empty() && name == refusal.short_name))
                throw refuse(arg, refusal.reason);
        const Flag* flag = nullptr;
        for (const Flag& candidate : kAllowed)
            if (name == candidate.long_name || (!candidate.short_name.empty() && name == candidate.short_name))
                flag = &candidate;
        // Bundled short flags ("-as") would hide a refused one behind an allowed one.
        if (!flag || (value_attached && !flag->takes_value))
            throw invalid_config(
                "extra_args: '" + arg +
                "' is not an allowed pg_dump flag (allowed flags keep the dump on standard output; see "
                "the source-postgres README)");
        if (flag->takes_value && !value_attached) {
            if (i + 1 == extra_args.size()) throw invalid_config("extra_args: '" + arg + "' needs a value");
            ++i;  // the value, whatever it looks like (pg_dump's getopt takes the next item as is)
        }
    }
}

std::vector<std::string> pg_dump_arguments(const DumpSelection& selection) {
    std::vector<std::string> args;
    args.push_back(selection.custom_format ? "--format=custom" : "--format=plain");
    for (const std::string& s : selection.schemas) args.push_back("--schema=" + s);
    for (const std::string& s : selection.exclude_schemas) args.push_back("--exclude-schema=" + s);
    for (const std::string& t : selection.tables) args.push_back("--table=" + t);
    for (const std::string& t : selection.exclude_tables) args.push_back("--exclude-table=" + t);
    if (selection.no_owner) args.push_back("--no-owner");
    if (selection.no_privileges) args.push_back("--no-privileges");
    if (selection.lock_wait_timeout_ms > 0)
        args.push_back("--lock-wait-timeout=" + std::to_string(selection.lock_wait_timeout_ms));
    args.insert(args.end(), selection.extra_args.begin(), selection.extra_args.end());
    // pg_dump never prompts: without a password it fails instead of waiting on a terminal it does not have.
    args.push_back("--no-password");
    return args;
}

}  // namespace backhaul
