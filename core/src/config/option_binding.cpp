#include "config/option_binding.hpp"

#include <algorithm>
#include <backhaul/common/secure_memory.hpp>
#include <charconv>
#include <functional>
#include <stdexcept>

namespace backhaul {

namespace {

constexpr const char* redacted = "<redacted>";

struct BoundValue {
    std::string name;
    bh_option_type type = 0;
    bool is_set = false;
    bool secret = false;       // secret-flagged, or built from ${secret:...}
    bool placeholder = false;  // validate mode: holds a placeholder, not the real secret
    std::string str;
    int64_t num = 0;
    std::vector<std::string> items;
};

std::nullopt_t refuse(QuantityProblem* problem, QuantityProblem why) {
    if (problem) *problem = why;
    return std::nullopt;
}

std::optional<int64_t> parse_digits(std::string_view text, QuantityProblem* problem) {
    if (text.empty()) return refuse(problem, QuantityProblem::malformed);
    for (const char c : text)
        if (c < '0' || c > '9') return refuse(problem, QuantityProblem::malformed);
    int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc::result_out_of_range) return refuse(problem, QuantityProblem::too_large);
    if (error != std::errc() || end != text.data() + text.size()) return refuse(problem, QuantityProblem::malformed);
    return value;
}

// Integer bytes or seconds, as TOML sizes and durations may be written.
std::optional<int64_t> size_of_bytes(int64_t bytes, QuantityProblem* problem) {
    if (bytes < 0) return refuse(problem, QuantityProblem::malformed);
    return bytes;
}
std::optional<int64_t> duration_of_seconds(int64_t seconds, QuantityProblem* problem) {
    if (seconds < 0) return refuse(problem, QuantityProblem::malformed);
    if (seconds > kMaxDurationMs / 1000) return refuse(problem, QuantityProblem::too_large);
    return seconds * 1000;
}

// "<what>: invalid duration '1h 30m'" or "<what>: duration '1000000d' is above the maximum of 36500d (100 years)";
// `shown` is the value as written, quoted if it was a string.
std::string quantity_error(const std::string& what, bh_option_type type, const std::string& shown,
                           QuantityProblem problem) {
    const bool size = type == BH_OPT_SIZE;
    const std::string kind = size ? "size" : "duration";
    if (problem == QuantityProblem::too_large) {
        return what + ": " + kind + " " + shown + " is above the maximum of " +
               (size ? kMaxSizeText : kMaxDurationText);
    }
    return what + ": invalid " + kind + " " + shown;
}

// A whole decimal number, optionally negative: what an integer option's ${...} must expand to.
std::optional<int64_t> parse_integer(std::string_view text) {
    int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// true/false (also yes/no, 1/0, as environment variables tend to say it).
std::optional<int64_t> parse_boolean(std::string_view text) {
    if (text == "true" || text == "yes" || text == "1") return 1;
    if (text == "false" || text == "no" || text == "0") return 0;
    return std::nullopt;
}

// Where a secret can go instead of an option with BH_OPT_ARGV: a table option named `env` (a child's environment is
// readable only by its own user) or a secret-flagged option.
std::string argv_secret_hint(const bh_option_spec* specs, uint32_t count) {
    std::string names;
    for (uint32_t i = 0; i < count; ++i) {
        const bh_option_spec& spec = specs[i];
        const bool private_channel =
            (spec.type == BH_OPT_TABLE && std::string_view(spec.name) == "env") || (spec.flags & BH_OPT_SECRET) != 0;
        if (private_channel && !(spec.flags & BH_OPT_ARGV)) {
            names += (names.empty() ? "'" : " or '") + std::string(spec.name) + "'";
        }
    }
    if (names.empty()) return "this plugin has no option that keeps a secret off the command line";
    return "pass the secret through option " + names + " instead";
}

// The value as people write it: sizes in the largest unit that divides them exactly (1024-based first, then
// 1000-based), durations likewise (d, h, m, s, ms).
std::string quantity_text(bh_option_type type, int64_t value) {
    if (type == BH_OPT_SIZE) {
        struct Unit {
            const char* name;
            int64_t factor;
        };
        static constexpr Unit units[] = {{"TiB", int64_t(1) << 40},
                                         {"GiB", int64_t(1) << 30},
                                         {"MiB", int64_t(1) << 20},
                                         {"KiB", int64_t(1) << 10},
                                         {"TB", int64_t(1000) * 1000 * 1000 * 1000},
                                         {"GB", 1000 * 1000 * 1000},
                                         {"MB", 1000 * 1000},
                                         {"kB", 1000}};
        if (value > 0)
            for (const Unit& unit : units)
                if (value % unit.factor == 0) return std::to_string(value / unit.factor) + unit.name;
        return std::to_string(value) + (value == 1 ? " byte" : " bytes");
    }
    if (type == BH_OPT_DURATION) {
        struct Unit {
            const char* name;
            int64_t factor;
        };
        static constexpr Unit units[] = {
            {"d", 24 * 60 * 60 * 1000}, {"h", 60 * 60 * 1000}, {"m", 60 * 1000}, {"s", 1000}};
        if (value > 0)
            for (const Unit& unit : units)
                if (value % unit.factor == 0) return std::to_string(value / unit.factor) + unit.name;
        return std::to_string(value) + "ms";
    }
    return std::to_string(value);
}

const bh_option_limits* limits_of(const bh_option_spec& spec, std::span<const bh_option_limits> limits) {
    for (const bh_option_limits& limit : limits)
        if (limit.option && std::string_view(limit.option) == spec.name) return &limit;
    return nullptr;
}

// What the value's limit is measured in: the number itself, a string's length, a list's or table's entries.
int64_t measured(const BoundValue& value) {
    switch (value.type) {
        case BH_OPT_STRING:
        case BH_OPT_ENUM:
            return static_cast<int64_t>(value.str.size());
        case BH_OPT_LIST:
            return static_cast<int64_t>(value.items.size());
        case BH_OPT_TABLE:
            return static_cast<int64_t>(value.items.size() / 2);
        default:
            return value.num;
    }
}

std::string counted(int64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

// "must be between 1 and 9, got 12", "must be at most 63 characters long, got 70", "must have at least 1 entry, got 0".
// limit_text is declared in the header, defined below.
std::optional<std::string> limit_problem(const bh_option_spec& spec, std::span<const bh_option_limits> limits,
                                         const BoundValue& value) {
    const bh_option_limits* limit = limits_of(spec, limits);
    if (!limit || !value.is_set || value.placeholder) return std::nullopt;
    const int64_t n = measured(value);
    const bool below = (limit->flags & BH_LIMIT_MIN) && n < limit->min;
    const bool above = (limit->flags & BH_LIMIT_MAX) && n > limit->max;
    if (!below && !above) return std::nullopt;
    const bool measures_length =
        spec.type == BH_OPT_STRING || spec.type == BH_OPT_ENUM || spec.type == BH_OPT_LIST || spec.type == BH_OPT_TABLE;
    if (measures_length && below && limit->min == 1 && n == 0) return std::string("must not be empty");
    std::string got;
    switch (spec.type) {
        case BH_OPT_STRING:
        case BH_OPT_ENUM:
            got = counted(n, "character", "characters");
            break;
        case BH_OPT_LIST:
        case BH_OPT_TABLE:
            got = counted(n, "entry", "entries");
            break;
        default:
            got = quantity_text(spec.type, n);
    }
    const bool entries = spec.type == BH_OPT_LIST || spec.type == BH_OPT_TABLE;
    return std::string(entries ? "must have " : "must be ") + limit_text(spec.type, *limit) + ", got " + got;
}

// How a string from the pipeline (or a default, or argv) becomes the value the plugin sees.
using StringExpander = std::function<InterpolatedString(const std::string& text, const SourcePosition& where)>;

class ValueConverter {
  public:
    // `label` names the option in errors: "source (source-command): option 'level'".
    // `argv_hint` ends the error about a ${secret:...} in a BH_OPT_ARGV option: where the secret can go instead.
    ValueConverter(std::string file, std::string label, StringExpander expand, std::string argv_hint = {})
        : file_(std::move(file)),
          label_(std::move(label)),
          expand_(std::move(expand)),
          argv_hint_(std::move(argv_hint)) {}

    // Returns whether every string the user wrote was literal (no ${...}).
    bool convert(const bh_option_spec& spec, const toml::node& node, BoundValue& out) const {
        out.is_set = true;
        bool all_literal = true;
        const auto string_of = [&](const toml::node& item, const std::string& what) {
            const auto* text = item.as_string();
            if (!text) fail(item, what + " must be a string, got " + toml_type_name(item));
            InterpolatedString result = expand_(text->get(), position_of(item, file_));
            if (result.contains_secret && (spec.flags & BH_OPT_ARGV)) {
                fail(item, what + " would put a ${secret:...} value on a command line, which every local user can " +
                               "read; " + argv_hint_);
            }
            out.secret = out.secret || result.contains_secret;
            out.placeholder = out.placeholder || result.has_placeholder;
            all_literal = all_literal && !result.has_references;
            return result;
        };
        switch (spec.type) {
            case BH_OPT_STRING:
                out.str = string_of(node, label_).value;
                break;
            // An integer or boolean may also come from a reference, port = "${env:DB_PORT}"; a literal string
            // (level = "6") stays a type error, as TOML means it.
            case BH_OPT_INT:
                if (const auto* value = node.as_integer()) {
                    out.num = value->get();
                } else {
                    out.num = referenced(node, "an integer", "integer", parse_integer, string_of, out);
                }
                break;
            case BH_OPT_BOOL:
                if (const auto* value = node.as_boolean()) {
                    out.num = value->get() ? 1 : 0;
                } else {
                    out.num = referenced(node, "a boolean", "boolean", parse_boolean, string_of, out);
                }
                break;
            case BH_OPT_SIZE:
                out.num = quantity_of(node, spec.type, "a size", size_of_bytes, parse_size, string_of, out);
                break;
            case BH_OPT_DURATION:
                out.num =
                    quantity_of(node, spec.type, "a duration", duration_of_seconds, parse_duration, string_of, out);
                break;
            case BH_OPT_ENUM: {
                out.str = string_of(node, label_).value;
                if (out.placeholder) break;  // an unfetched secret cannot be checked
                std::string choices;
                for (const char* const* value = spec.enum_values; value && *value; ++value) {
                    if (out.str == *value) return all_literal;
                    choices += (choices.empty() ? "" : ", ") + std::string(*value);
                }
                fail(node, label_ + " must be one of " + choices + "; got '" + out.str + "'");
            }
            case BH_OPT_LIST: {
                const auto* array = node.as_array();
                if (!array) fail(node, label_ + " must be an array of strings, got " + toml_type_name(node));
                for (size_t i = 0; i < array->size(); ++i) {
                    out.items.push_back(string_of((*array)[i], label_ + "[" + std::to_string(i) + "]").value);
                }
                break;
            }
            case BH_OPT_TABLE: {
                const auto* table = node.as_table();
                if (!table) fail(node, label_ + " must be a table of strings, got " + toml_type_name(node));
                for (const auto& [key, value] : *table) {
                    out.items.emplace_back(key.str());
                    out.items.push_back(string_of(value, label_ + "." + std::string(key.str())).value);
                }
                break;
            }
            default:
                throw std::logic_error(label_ + " has unknown option type " + std::to_string(spec.type));
        }
        return all_literal;
    }

  private:
    [[noreturn]] void fail(const toml::node& node, const std::string& message) const {
        throw ConfigError(position_of(node, file_), message);
    }

    using QuantityParser = std::optional<int64_t> (*)(std::string_view, QuantityProblem*);
    using QuantityFromInteger = std::optional<int64_t> (*)(int64_t, QuantityProblem*);

    // A SIZE or DURATION: an integer (bytes, seconds) or a string, range-checked either way.
    template <typename StringOf>
    int64_t quantity_of(const toml::node& node, bh_option_type type, const std::string& article_kind,
                        QuantityFromInteger from_integer, QuantityParser parse, const StringOf& string_of,
                        BoundValue& out) const {
        QuantityProblem problem = QuantityProblem::malformed;
        if (const auto* value = node.as_integer()) {
            const std::optional<int64_t> converted = from_integer(value->get(), &problem);
            if (!converted) fail(node, quantity_error(label_, type, std::to_string(value->get()), problem));
            return *converted;
        }
        if (!node.is_string()) {
            fail(node, label_ + " must be " + article_kind + " (integer or string), got " + toml_type_name(node));
        }
        const InterpolatedString text = string_of(node, label_);
        if (out.placeholder) return 0;  // an unfetched secret cannot be checked
        const std::optional<int64_t> parsed = parse(text.value, &problem);
        if (!parsed) fail(node, quantity_error(label_, type, "'" + text.value + "'", problem));
        return *parsed;
    }

    // A string holding ${...} for an integer or boolean option, expanded and parsed.
    template <typename StringOf>
    int64_t referenced(const toml::node& node, const std::string& article_kind, const std::string& kind,
                       std::optional<int64_t> (*parse)(std::string_view), const StringOf& string_of,
                       BoundValue& out) const {
        if (!node.is_string()) fail(node, label_ + " must be " + article_kind + ", got " + toml_type_name(node));
        InterpolatedString text = string_of(node, label_);
        if (!text.has_references) fail(node, label_ + " must be " + article_kind + ", got string");
        return parsed_string(node, kind, parse, text, out);
    }

    // The expanded string of `node` parsed as `kind`; "label: invalid integer 'x'" if it is not one.
    int64_t parsed_string(const toml::node& node, const std::string& kind,
                          std::optional<int64_t> (*parse)(std::string_view), const InterpolatedString& text,
                          const BoundValue& out) const {
        if (out.placeholder) return 0;  // an unfetched secret cannot be checked
        const std::optional<int64_t> parsed = parse(text.value);
        if (!parsed) fail(node, label_ + ": invalid " + kind + " '" + text.value + "'");
        return *parsed;
    }

    std::string file_;
    std::string label_;
    StringExpander expand_;
    std::string argv_hint_;
};

std::unique_ptr<toml::table> parse_default(const std::string& plugin_name, const bh_option_spec& spec) {
    try {
        return std::make_unique<toml::table>(toml::parse("v = " + std::string(spec.default_value)));
    } catch (const toml::parse_error& error) {
        throw std::logic_error("plugin '" + plugin_name + "': invalid default for option '" + spec.name + "' (" +
                               spec.default_value + "): " + std::string(error.description()));
    }
}

std::string allowed_names(const bh_option_spec* specs, uint32_t count, const std::string& prefix,
                          std::string (*spell)(const std::string&)) {
    std::string names;
    for (uint32_t i = 0; i < count; ++i) names += (names.empty() ? "" : ", ") + prefix + spell(specs[i].name);
    return names.empty() ? "none" : names;
}

std::string as_is(const std::string& name) { return name; }
std::string as_flag(const std::string& name) {
    std::string flag = name;
    std::replace(flag.begin(), flag.end(), '_', '-');
    return flag;
}

void check_spec_table(const std::string& plugin_name, const bh_option_spec* specs, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) {
        if (!specs[i].name)
            throw std::logic_error("plugin '" + plugin_name + "': option " + std::to_string(i) + " has no name");
        if (specs[i].type == BH_OPT_ENUM && !specs[i].enum_values) {
            throw std::logic_error("plugin '" + plugin_name + "': enum option '" + specs[i].name + "' has no values");
        }
    }
}

}  // namespace

struct BoundOptions::State {
    std::vector<BoundValue> values;
    std::vector<bh_option_value> abi;
    std::vector<std::vector<const char*>> item_pointers;
    std::vector<std::string> warnings;

    // Points the ABI entries into `values`; nothing may resize `values` afterwards.
    void link() {
        abi.clear();
        item_pointers.clear();
        item_pointers.resize(values.size());
        for (size_t i = 0; i < values.size(); ++i) {
            const BoundValue& value = values[i];
            bh_option_value entry{};
            entry.name = value.name.c_str();
            entry.type = value.type;
            entry.is_set = value.is_set ? 1 : 0;
            if (value.is_set) {
                if (value.type == BH_OPT_STRING || value.type == BH_OPT_ENUM) entry.str = value.str.c_str();
                entry.num = value.num;
                if (value.type == BH_OPT_LIST || value.type == BH_OPT_TABLE) {
                    for (const std::string& item : value.items) item_pointers[i].push_back(item.c_str());
                    item_pointers[i].push_back(nullptr);  // NULL-terminated too, and never a null array
                    entry.items = item_pointers[i].data();
                    entry.item_count = uint32_t(value.items.size());
                }
            }
            abi.push_back(entry);
        }
    }

    ~State() {
        for (BoundValue& value : values) {
            if (!value.secret) continue;
            common::wipe(value.str);
            for (std::string& item : value.items) common::wipe(item);
        }
    }
};

// Shared by bind_options and bind_cli_options: walks the option table once, user values first, then defaults.
class OptionBinder {
  public:
    static BoundOptions bind(const std::string& plugin_name, const bh_option_spec* specs, uint32_t count,
                             const std::function<bool(const bh_option_spec&, BoundValue&)>& bind_user_value,
                             const std::function<void(const bh_option_spec&)>& on_missing_required) {
        check_spec_table(plugin_name, specs, count);
        BoundOptions bound;
        bound.state_->values.resize(count);
        for (uint32_t i = 0; i < count; ++i) {
            const bh_option_spec& spec = specs[i];
            BoundValue& value = bound.state_->values[i];
            value.name = spec.name;
            value.type = spec.type;
            value.secret = (spec.flags & BH_OPT_SECRET) != 0;
            if (bind_user_value(spec, value)) continue;
            if (spec.flags & BH_OPT_REQUIRED) {
                on_missing_required(spec);
                continue;
            }
            if (!spec.default_value) continue;
            const std::unique_ptr<toml::table> parsed = parse_default(plugin_name, spec);
            const ValueConverter converter("", "default", [](const std::string& text, const SourcePosition&) {
                return InterpolatedString{text, false, false, false};
            });
            try {
                converter.convert(spec, *parsed->get("v"), value);
            } catch (const ConfigError& error) {
                throw std::logic_error("plugin '" + plugin_name + "': invalid default for option '" + spec.name +
                                       "' (" + spec.default_value + "): " + error.message());
            }
        }
        bound.state_->link();
        return bound;
    }

    static std::vector<std::string>& warnings(BoundOptions& bound) { return bound.state_->warnings; }
};

BoundOptions::BoundOptions() : state_(std::make_unique<State>()) {}
BoundOptions::BoundOptions(BoundOptions&&) noexcept = default;
BoundOptions& BoundOptions::operator=(BoundOptions&&) noexcept = default;
BoundOptions::~BoundOptions() = default;

const bh_option_value* BoundOptions::data() const { return state_ ? state_->abi.data() : nullptr; }
uint32_t BoundOptions::size() const { return state_ ? uint32_t(state_->abi.size()) : 0; }

std::vector<bh_option_value> BoundOptions::validate_values() const {
    std::vector<bh_option_value> values;
    if (!state_) return values;
    values = state_->abi;
    for (size_t i = 0; i < values.size(); ++i) {
        if (!state_->values[i].is_set || !state_->values[i].placeholder) continue;
        values[i].is_set = BH_VALUE_DEFERRED;
        values[i].str = nullptr;
        values[i].num = 0;
        values[i].items = nullptr;
        values[i].item_count = 0;
    }
    return values;
}

const bh_option_value* BoundOptions::find(std::string_view name) const {
    if (!state_) return nullptr;
    for (const bh_option_value& entry : state_->abi)
        if (name == entry.name) return &entry;
    return nullptr;
}

std::vector<std::pair<std::string, std::string>> BoundOptions::display() const {
    std::vector<std::pair<std::string, std::string>> shown;
    if (!state_) return shown;
    for (const BoundValue& value : state_->values) {
        if (!value.is_set) continue;
        if (value.secret) {
            shown.emplace_back(value.name, redacted);
            continue;
        }
        std::string text;
        switch (value.type) {
            case BH_OPT_STRING:
            case BH_OPT_ENUM:
                text = value.str;
                break;
            case BH_OPT_INT:
            case BH_OPT_SIZE:
                text = std::to_string(value.num);
                break;
            case BH_OPT_BOOL:
                text = value.num ? "true" : "false";
                break;
            case BH_OPT_DURATION:
                text = std::to_string(value.num) + "ms";
                break;
            case BH_OPT_LIST:
                for (size_t i = 0; i < value.items.size(); ++i) text += (i ? ", " : "") + value.items[i];
                text = "[" + text + "]";
                break;
            case BH_OPT_TABLE:
                for (size_t i = 0; i + 1 < value.items.size(); i += 2) {
                    text += (i ? ", " : "") + value.items[i] + "=" + value.items[i + 1];
                }
                text = "{" + text + "}";
                break;
        }
        shown.emplace_back(value.name, std::move(text));
    }
    return shown;
}

std::vector<std::string> BoundOptions::secret_values() const {
    std::vector<std::string> secrets;
    if (!state_) return secrets;
    for (const BoundValue& value : state_->values) {
        if (!value.is_set || !value.secret || value.placeholder) continue;
        if (value.type == BH_OPT_STRING || value.type == BH_OPT_ENUM) {
            if (!value.str.empty()) secrets.push_back(value.str);
        } else if (value.type == BH_OPT_LIST) {
            for (const std::string& item : value.items)
                if (!item.empty()) secrets.push_back(item);
        } else if (value.type == BH_OPT_TABLE) {
            for (size_t i = 1; i < value.items.size(); i += 2)
                if (!value.items[i].empty()) secrets.push_back(value.items[i]);
        }
    }
    return secrets;
}

const std::vector<std::string>& BoundOptions::warnings() const {
    static const std::vector<std::string> none;
    return state_ ? state_->warnings : none;
}

BoundOptions bind_options(const StageSpec& stage, const std::string& plugin_name, const bh_option_spec* specs,
                          uint32_t count, const ValueResolver& resolver, std::span<const bh_option_limits> limits,
                          ConfigProblems* collect) {
    const std::string stage_name = stage.label + " (" + plugin_name + ")";
    ConfigProblems problems;
    for (const OptionEntry& option : stage.options) {
        const bool known = std::any_of(
            specs, specs + count, [&](const bh_option_spec& spec) { return spec.name && option.name == spec.name; });
        if (!known) {
            problems.add(option.where, stage_name + ": unknown option '" + option.name +
                                           "' (allowed: " + allowed_names(specs, count, "", as_is) + ")");
        }
    }
    std::vector<std::string> warnings;
    BoundOptions bound = OptionBinder::bind(
        plugin_name, specs, count,
        [&](const bh_option_spec& spec, BoundValue& value) {
            const auto option = std::find_if(stage.options.begin(), stage.options.end(),
                                             [&](const OptionEntry& entry) { return entry.name == spec.name; });
            if (option == stage.options.end()) return false;
            const std::string label = stage_name + ": option '" + option->name + "'";
            const ValueConverter converter(
                stage.where.file, label,
                [&](const std::string& text, const SourcePosition& where) {
                    return interpolate(text, resolver, where, label);
                },
                argv_secret_hint(specs, count));
            const bool usable = problems.attempt([&] {
                const bool literal = converter.convert(spec, *option->value, value);
                if ((spec.flags & BH_OPT_SECRET) && literal && option->value->is_string()) {
                    warnings.push_back(ConfigError(option->where, label + " holds a literal secret; prefer ${env:...} "
                                                                          "or ${secret:...}")
                                           .what());
                }
                // A value from an unfetched secret is checked when a run binds the real one.
                if (value.placeholder) return;
                if (const std::optional<std::string> problem = limit_problem(spec, limits, value))
                    throw ConfigError(position_of(*option->value, stage.where.file), label + ": " + *problem);
            });
            // A refused value is reported once, here: the plugin's validate sees it as set but unknown, so that it
            // still finds the stage's other problems without judging a value that is already wrong.
            if (!usable) {
                value.is_set = true;
                value.placeholder = true;
            }
            return true;
        },
        [&](const bh_option_spec& spec) {
            problems.add(stage.where, stage_name + ": missing required option '" + spec.name + "'");
        });
    if (collect) {
        for (const ConfigProblem& problem : problems.list()) collect->add(problem.where, problem.message);
    } else {
        problems.throw_if_any();
    }
    OptionBinder::warnings(bound) = std::move(warnings);
    return bound;
}

BoundOptions bind_cli_options(const std::vector<std::pair<std::string, std::optional<std::string>>>& flags,
                              const std::string& plugin_name, const bh_option_spec* specs, uint32_t count,
                              std::span<const bh_option_limits> limits) {
    check_spec_table(plugin_name, specs, count);
    const auto spec_of = [&](const std::string& flag) -> const bh_option_spec* {
        std::string name = flag.rfind("--", 0) == 0 ? flag.substr(2) : flag;
        std::replace(name.begin(), name.end(), '-', '_');
        for (uint32_t i = 0; i < count; ++i)
            if (name == specs[i].name) return &specs[i];
        return nullptr;
    };
    for (const auto& [flag, value] : flags) {
        if (!spec_of(flag)) {
            const std::string shown = flag.rfind("--", 0) == 0 ? flag : "--" + flag;
            throw UsageError("unknown restore option '" + shown + "' for " + plugin_name +
                             " (allowed: " + allowed_names(specs, count, "--", as_flag) + ")");
        }
    }
    return OptionBinder::bind(
        plugin_name, specs, count,
        [&](const bh_option_spec& spec, BoundValue& bound_value) {
            const std::string label = "restore option '--" + as_flag(spec.name) + "'";
            std::vector<std::optional<std::string>> given;
            for (const auto& [flag, value] : flags)
                if (spec_of(flag) == &spec) given.push_back(value);
            if (given.empty()) return false;
            const bool repeatable = spec.type == BH_OPT_LIST || spec.type == BH_OPT_TABLE;
            if (given.size() > 1 && !repeatable) throw UsageError(label + ": given more than once");
            for (const std::optional<std::string>& value : given) {
                if (!value && spec.type != BH_OPT_BOOL) throw UsageError(label + ": needs a value");
            }
            // argv strings become the TOML value a pipeline file would hold, then share one conversion path.
            std::unique_ptr<toml::node> node;
            const std::string text = given.front().value_or("true");
            switch (spec.type) {
                case BH_OPT_INT: {
                    const std::optional<int64_t> number = parse_integer(text);
                    if (!number) throw UsageError(label + ": invalid integer '" + text + "'");
                    node = std::make_unique<toml::value<int64_t>>(*number);
                    break;
                }
                case BH_OPT_BOOL: {
                    const std::optional<int64_t> flag = parse_boolean(text);
                    if (!flag) throw UsageError(label + ": must be true or false, got '" + text + "'");
                    node = std::make_unique<toml::value<bool>>(*flag != 0);
                    break;
                }
                case BH_OPT_LIST: {
                    auto array = std::make_unique<toml::array>();
                    for (const auto& value : given) array->push_back(*value);
                    node = std::move(array);
                    break;
                }
                case BH_OPT_TABLE: {
                    auto table = std::make_unique<toml::table>();
                    for (const auto& value : given) {
                        const size_t equals = value->find('=');
                        if (equals == std::string::npos || equals == 0) {
                            throw UsageError(label + ": must be KEY=VALUE, got '" + *value + "'");
                        }
                        table->insert_or_assign(value->substr(0, equals), value->substr(equals + 1));
                    }
                    node = std::move(table);
                    break;
                }
                default:
                    node = std::make_unique<toml::value<std::string>>(text);
            }
            const ValueConverter converter("", label, [](const std::string& value, const SourcePosition&) {
                return InterpolatedString{value, false, false, false};
            });
            try {
                converter.convert(spec, *node, bound_value);
            } catch (const ConfigError& error) {
                throw UsageError(error.message());
            }
            if (const std::optional<std::string> problem = limit_problem(spec, limits, bound_value))
                throw UsageError(label + ": " + *problem);
            return true;
        },
        [&](const bh_option_spec& spec) {
            throw UsageError("missing required restore option '--" + as_flag(spec.name) + "' for " + plugin_name);
        });
}

std::optional<int64_t> parse_size(std::string_view text, QuantityProblem* problem) {
    const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    std::string_view unit = text.substr(digits);
    while (!unit.empty() && is_space(unit.front())) unit.remove_prefix(1);
    struct Unit {
        std::string_view name;
        int64_t factor;
    };
    static constexpr Unit units[] = {
        {"", 1},
        {"B", 1},
        {"k", int64_t(1) << 10},
        {"K", int64_t(1) << 10},
        {"KiB", int64_t(1) << 10},
        {"M", int64_t(1) << 20},
        {"MiB", int64_t(1) << 20},
        {"G", int64_t(1) << 30},
        {"GiB", int64_t(1) << 30},
        {"T", int64_t(1) << 40},
        {"TiB", int64_t(1) << 40},
        {"kB", 1000},
        {"KB", 1000},
        {"MB", 1000 * 1000},
        {"GB", 1000 * 1000 * 1000},
        {"TB", int64_t(1000) * 1000 * 1000 * 1000},
    };
    const Unit* found = nullptr;
    for (const Unit& candidate : units)
        if (unit == candidate.name) found = &candidate;
    // A malformed unit is the first thing to report: "99999999999999999999 bytes" is not what "…XiB" meant.
    if (!found) return refuse(problem, QuantityProblem::malformed);
    const std::optional<int64_t> number = parse_digits(text.substr(0, digits), problem);
    if (!number) return std::nullopt;
    int64_t bytes = 0;
    if (__builtin_mul_overflow(*number, found->factor, &bytes) || bytes > kMaxSizeBytes) {
        return refuse(problem, QuantityProblem::too_large);
    }
    return bytes;
}

std::optional<int64_t> parse_duration(std::string_view text, QuantityProblem* problem) {
    if (text.empty()) return refuse(problem, QuantityProblem::malformed);
    int64_t total = 0;
    bool too_large = false;
    size_t pos = 0;
    // Every part is parsed before an overflow is reported, so "99999999999999999999d junk" is malformed, not too large.
    while (pos < text.size()) {
        size_t digits_end = pos;
        while (digits_end < text.size() && text[digits_end] >= '0' && text[digits_end] <= '9') ++digits_end;
        QuantityProblem digits_problem = QuantityProblem::malformed;
        const std::optional<int64_t> number = parse_digits(text.substr(pos, digits_end - pos), &digits_problem);
        if (!number && digits_problem == QuantityProblem::malformed) return refuse(problem, digits_problem);
        size_t unit_end = digits_end;
        while (unit_end < text.size() && text[unit_end] >= 'a' && text[unit_end] <= 'z') ++unit_end;
        const std::string_view unit = text.substr(digits_end, unit_end - digits_end);
        int64_t factor = 0;
        if (unit == "ms")
            factor = 1;
        else if (unit == "s")
            factor = 1000;
        else if (unit == "m")
            factor = 60 * 1000;
        else if (unit == "h")
            factor = 60 * 60 * 1000;
        else if (unit == "d")
            factor = 24 * 60 * 60 * 1000;
        else
            return refuse(problem, QuantityProblem::malformed);
        int64_t part = 0;
        too_large = too_large || !number || __builtin_mul_overflow(*number, factor, &part) ||
                    __builtin_add_overflow(total, part, &total) || total > kMaxDurationMs;
        pos = unit_end;
    }
    if (too_large) return refuse(problem, QuantityProblem::too_large);
    return total;
}

std::string limit_text(bh_option_type type, const bh_option_limits& limit) {
    const bool has_min = limit.flags & BH_LIMIT_MIN;
    const bool has_max = limit.flags & BH_LIMIT_MAX;
    const auto shown = [&](int64_t n) {
        switch (type) {
            case BH_OPT_SIZE:
            case BH_OPT_DURATION:
                return quantity_text(type, n);
            default:
                return std::to_string(n);
        }
    };
    const bool counts = type == BH_OPT_STRING || type == BH_OPT_ENUM || type == BH_OPT_LIST || type == BH_OPT_TABLE;
    if (counts && has_min && !has_max && limit.min == 1) return "not empty";
    std::string range;
    if (has_min && has_max)
        range = "between " + shown(limit.min) + " and " + shown(limit.max);
    else if (has_min)
        range = "at least " + shown(limit.min);
    else if (has_max)
        range = "at most " + shown(limit.max);
    else
        return "unlimited";
    const bool one = (has_max ? limit.max : limit.min) == 1;
    if (type == BH_OPT_STRING || type == BH_OPT_ENUM) return range + (one ? " character long" : " characters long");
    if (type == BH_OPT_LIST || type == BH_OPT_TABLE) return range + (one ? " entry" : " entries");
    return range;
}

namespace {

// A top-level SIZE or DURATION outside any plugin's options: an integer (bytes, seconds) or a string without ${...}.
// `written_as` completes "must be a ...", e.g. "duration (integer seconds or a string like \"2h\")".
int64_t top_level_quantity(const toml::node& node, const std::string& file, const std::string& what,
                           bh_option_type type, const std::string& written_as,
                           std::optional<int64_t> (*from_integer)(int64_t, QuantityProblem*),
                           std::optional<int64_t> (*parse)(std::string_view, QuantityProblem*)) {
    QuantityProblem problem = QuantityProblem::malformed;
    std::optional<int64_t> value;
    std::string shown;
    if (const auto* integer = node.as_integer()) {
        value = from_integer(integer->get(), &problem);
        shown = std::to_string(integer->get());
    } else if (const auto* text = node.as_string()) {
        value = parse(text->get(), &problem);
        shown = "'" + text->get() + "'";
    } else {
        throw ConfigError(position_of(node, file), what + " must be a " + written_as + ", got " + toml_type_name(node));
    }
    if (!value) throw ConfigError(position_of(node, file), quantity_error(what, type, shown, problem));
    return *value;
}

}  // namespace

int64_t duration_value(const toml::node& node, const std::string& file, const std::string& what) {
    return top_level_quantity(node, file, what, BH_OPT_DURATION, "duration (integer seconds or a string like \"2h\")",
                              duration_of_seconds, parse_duration);
}

int64_t size_value(const toml::node& node, const std::string& file, const std::string& what) {
    return top_level_quantity(node, file, what, BH_OPT_SIZE, "size (integer bytes or a string like \"40MiB\")",
                              size_of_bytes, parse_size);
}

}  // namespace backhaul
