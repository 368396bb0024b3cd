// The descriptor rules on descriptors built in-process: one test per refusal, each asserting the exact line.
#include "loader/descriptor_validation.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>

#include "errors.hpp"

namespace backhaul {
namespace {

const std::filesystem::path plugin_file = "/plugins/fixture.so";

bh_status create(const bh_host*, const bh_option_value*, uint32_t, void**) { return BH_OK; }
void destroy(void*) {}
bh_status status_of(void*) { return BH_OK; }
void release(void*) {}

const bh_secret_api secret_api = {
    sizeof(bh_secret_api),
    [](void*, void (*)(void*, const char*, const char*, size_t), void*) -> bh_status { return BH_OK; }};
const bh_source_api source_api = {
    sizeof(bh_source_api),
    [](void*, void**) -> bh_status { return BH_OK; },
    [](void*, uint8_t*, size_t, size_t*) -> bh_status { return BH_OK; },
    release,
    [](void*, const bh_option_value*, uint32_t, void**) -> bh_status { return BH_OK; },
    [](void*, const uint8_t*, size_t) -> bh_status { return BH_OK; },
    status_of,
    release,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};
const bh_transform_api transform_api = {
    sizeof(bh_transform_api),
    [](void*, bh_direction, const bh_output*, void**) -> bh_status { return BH_OK; },
    [](void*, const uint8_t*, size_t) -> bh_status { return BH_OK; },
    status_of,
    release,
};
const bh_sink_api sink_api = {
    sizeof(bh_sink_api),
    [](void*, const char*, const bh_kv*, uint32_t, void**) -> bh_status { return BH_OK; },
    [](void*, const uint8_t*, size_t) -> bh_status { return BH_OK; },
    status_of,
    release,
    [](void*, const char*, void**) -> bh_status { return BH_OK; },
    [](void*, uint8_t*, size_t, size_t*) -> bh_status { return BH_OK; },
    release,
    [](void*, const char*, int32_t (*)(void*, const bh_object_info*), void*) -> bh_status { return BH_OK; },
    [](void*, const char*, bh_object_info*) -> bh_status { return BH_OK; },
    [](void*, const char* const*, uint32_t) -> bh_status { return BH_OK; },
};
const bh_notifier_api notifier_api = {sizeof(bh_notifier_api),
                                      [](void*, const bh_run_event*) -> bh_status { return BH_OK; }};

const char* const level_values[] = {"fast", "best", nullptr};
const bh_option_spec valid_options[] = {
    {"path", BH_OPT_STRING, BH_OPT_REQUIRED, nullptr, nullptr, "Where."},
    {"level", BH_OPT_ENUM, 0, "\"fast\"", level_values, "How."},
};

// A valid transform descriptor; tests break one thing each.
bh_plugin_descriptor valid_descriptor() {
    bh_plugin_descriptor d{};
    d.abi_major = BH_ABI_MAJOR;
    d.abi_minor = BH_ABI_MINOR;
    d.struct_size = sizeof(bh_plugin_descriptor);
    d.kind = BH_KIND_TRANSFORM;
    d.name = "compress-test";
    d.version = "0.1.0";
    d.description = "Test plugin.";
    d.options = valid_options;
    d.option_count = 2;
    d.create = create;
    d.destroy = destroy;
    d.transform = &transform_api;
    return d;
}

// The what() of the PluginLoadError validate_descriptor throws for `d`; fails the test if nothing is thrown.
std::string refusal(const bh_plugin_descriptor& d) {
    try {
        validate_descriptor(plugin_file, d);
    } catch (const PluginLoadError& error) {
        return error.what();
    }
    ADD_FAILURE() << "descriptor was accepted";
    return {};
}

TEST(loader_descriptor, accepts_a_valid_plugin_of_every_kind) {
    bh_plugin_descriptor d = valid_descriptor();
    EXPECT_NO_THROW(validate_descriptor(plugin_file, d));

    d.transform = nullptr;
    d.kind = BH_KIND_SECRET;
    d.name = "secret-test";
    d.secret = &secret_api;
    EXPECT_NO_THROW(validate_descriptor(plugin_file, d));

    d.secret = nullptr;
    d.kind = BH_KIND_SOURCE;
    d.name = "source-test";
    d.source = &source_api;
    d.restore_options = valid_options;
    d.restore_option_count = 2;
    EXPECT_NO_THROW(validate_descriptor(plugin_file, d));

    d.source = nullptr;
    d.restore_options = nullptr;
    d.restore_option_count = 0;
    d.kind = BH_KIND_SINK;
    d.name = "sink-test";
    d.sink = &sink_api;
    EXPECT_NO_THROW(validate_descriptor(plugin_file, d));

    d.sink = nullptr;
    d.kind = BH_KIND_NOTIFIER;
    d.name = "notify-test";
    d.notifier = &notifier_api;
    EXPECT_NO_THROW(validate_descriptor(plugin_file, d));
}

TEST(loader_descriptor, accepts_names_with_digits_and_dashes_and_no_options) {
    bh_plugin_descriptor d = valid_descriptor();
    d.name = "encrypt-age-2";
    d.options = nullptr;
    d.option_count = 0;
    EXPECT_NO_THROW(validate_descriptor(plugin_file, d));
}

TEST(loader_descriptor, refuses_other_major) {
    bh_plugin_descriptor d = valid_descriptor();
    d.abi_major = 0;
    d.abi_minor = 9;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: plugin ABI 0.9 is incompatible with this backhaul (ABI 1.4)");
}

TEST(loader_descriptor, refuses_newer_minor) {
    bh_plugin_descriptor d = valid_descriptor();
    d.abi_minor = BH_ABI_MINOR + 1;
    EXPECT_EQ(refusal(d),
              "/plugins/fixture.so: plugin needs ABI 1.5, this backhaul provides ABI 1.4; upgrade backhaul");
}

TEST(loader_descriptor, refuses_descriptor_one_byte_short) {
    bh_plugin_descriptor d = valid_descriptor();
    d.struct_size = sizeof(bh_plugin_descriptor) - 1;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: descriptor is 191 bytes, ABI 1.4 requires at least 192");
}

TEST(loader_descriptor, accepts_an_abi_1_1_descriptor_without_the_fields_1_2_appended) {
    bh_plugin_descriptor d = valid_descriptor();
    d.abi_minor = 1;
    d.struct_size = offsetof(bh_plugin_descriptor, limits);
    // What lies past an ABI 1.1 descriptor's end is another object's memory: never read as limits.
    d.limit_count = 7;
    d.limits = nullptr;
    EXPECT_NO_THROW(validate_descriptor(plugin_file, d));
}

TEST(loader_descriptor, refuses_limits_of_undeclared_or_bool_options_and_inverted_ranges) {
    const bh_option_spec specs[] = {{"level", BH_OPT_INT, 0, "6", nullptr, "?"},
                                    {"verbose", BH_OPT_BOOL, 0, nullptr, nullptr, "?"}};
    auto with_limit = [&](bh_option_limits limit) {
        static bh_option_limits one;
        one = limit;
        bh_plugin_descriptor d = valid_descriptor();
        d.options = specs;
        d.option_count = 2;
        d.limits = &one;
        d.limit_count = 1;
        return d;
    };
    EXPECT_NO_THROW(validate_descriptor(plugin_file, with_limit({"level", BH_LIMIT_MIN | BH_LIMIT_MAX, 1, 9})));
    EXPECT_EQ(refusal(with_limit({"levle", BH_LIMIT_MIN, 1, 0})),
              "/plugins/fixture.so: limits name option 'levle' of 'compress-test', which is not declared");
    EXPECT_EQ(refusal(with_limit({"verbose", BH_LIMIT_MIN, 1, 0})),
              "/plugins/fixture.so: bool option 'verbose' of 'compress-test' cannot have limits");
    EXPECT_EQ(refusal(with_limit({"level", BH_LIMIT_MIN | BH_LIMIT_MAX, 9, 1})),
              "/plugins/fixture.so: limits of option 'level' of 'compress-test' have min 9 above max 1");
}

TEST(loader_descriptor, refuses_missing_name) {
    bh_plugin_descriptor d = valid_descriptor();
    d.name = nullptr;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: descriptor has no plugin name");
}

TEST(loader_descriptor, refuses_names_that_are_not_kind_dash_name) {
    for (const char* name : {"", "gzip", "-gzip", "compress-", "compress--gzip", "compress-Gzip", "compress_gzip",
                             "Compress-gzip", "compress-gz ip", "9x-gzip"}) {
        bh_plugin_descriptor d = valid_descriptor();
        d.name = name;
        EXPECT_EQ(refusal(d), std::string("/plugins/fixture.so: plugin name '") + name +
                                  "' is not <kind>-<name> in lower-case letters, digits and dashes");
    }
}

TEST(loader_descriptor, refuses_unknown_kind) {
    bh_plugin_descriptor d = valid_descriptor();
    d.kind = 6;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: plugin 'compress-test' has unknown kind 6");
}

TEST(loader_descriptor, refuses_missing_version) {
    bh_plugin_descriptor d = valid_descriptor();
    d.version = nullptr;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: plugin 'compress-test' has no version");
}

TEST(loader_descriptor, refuses_missing_description) {
    bh_plugin_descriptor d = valid_descriptor();
    d.description = nullptr;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: plugin 'compress-test' has no description");
}

TEST(loader_descriptor, refuses_missing_create) {
    bh_plugin_descriptor d = valid_descriptor();
    d.create = nullptr;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: plugin 'compress-test' has no create function");
}

TEST(loader_descriptor, refuses_missing_destroy) {
    bh_plugin_descriptor d = valid_descriptor();
    d.destroy = nullptr;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: plugin 'compress-test' has no destroy function");
}

TEST(loader_descriptor, refuses_missing_table_for_its_kind) {
    bh_plugin_descriptor d = valid_descriptor();
    d.transform = nullptr;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: transform plugin 'compress-test' has no transform function table");
}

TEST(loader_descriptor, refuses_table_of_another_kind) {
    bh_plugin_descriptor d = valid_descriptor();
    d.sink = &sink_api;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: transform plugin 'compress-test' also sets the sink function table");
}

TEST(loader_descriptor, refuses_table_shorter_than_its_abi_version) {
    bh_transform_api short_api = transform_api;
    short_api.struct_size = 8;
    bh_plugin_descriptor d = valid_descriptor();
    d.transform = &short_api;
    EXPECT_EQ(
        refusal(d),
        "/plugins/fixture.so: transform function table of 'compress-test' is 8 bytes, ABI 1.4 requires at least 40");
}

// ABI 1.3 grew bh_source_api: a source built before it has the 1.0 table, which stays valid.
TEST(loader_descriptor, accepts_a_source_table_of_abi_1_0_size_and_refuses_a_shorter_one) {
    bh_source_api old_api = source_api;
    old_api.struct_size = offsetof(bh_source_api, produces_set);
    bh_plugin_descriptor d = valid_descriptor();
    d.kind = BH_KIND_SOURCE;
    d.name = "source-test";
    d.transform = nullptr;
    d.source = &old_api;
    EXPECT_NO_THROW(validate_descriptor(plugin_file, d));
    old_api.struct_size -= 8;
    EXPECT_EQ(refusal(d),
              "/plugins/fixture.so: source function table of 'source-test' is 56 bytes, ABI 1.4 requires "
              "at least 64");
}

TEST(loader_descriptor, refuses_a_source_with_only_some_of_the_set_entries) {
    bh_source_api partial = source_api;
    partial.produces_set = [](const bh_option_value*, uint32_t) -> int32_t { return 1; };
    partial.list_streams = [](void*, int32_t (*)(void*, const bh_stream_info*), void*) -> bh_status { return BH_OK; };
    bh_plugin_descriptor d = valid_descriptor();
    d.kind = BH_KIND_SOURCE;
    d.name = "source-test";
    d.transform = nullptr;
    d.source = &partial;
    EXPECT_EQ(refusal(d),
              "/plugins/fixture.so: source plugin 'source-test' has some but not all of produces_set, "
              "list_streams, open_stream and restore_open_stream (ABI 1.3 sets need all four)");
    partial.open_stream = [](void*, const char*, void**) -> bh_status { return BH_OK; };
    partial.restore_open_stream = [](void*, const bh_stream_info*, const bh_option_value*, uint32_t,
                                     void**) -> bh_status { return BH_OK; };
    EXPECT_NO_THROW(validate_descriptor(plugin_file, d));
}

TEST(loader_descriptor, refuses_null_function_in_table) {
    bh_sink_api incomplete = sink_api;
    incomplete.stat = nullptr;
    bh_plugin_descriptor d = valid_descriptor();
    d.kind = BH_KIND_SINK;
    d.name = "sink-test";
    d.transform = nullptr;
    d.sink = &incomplete;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: sink function table of 'sink-test' has no 'stat' function");
}

TEST(loader_descriptor, refuses_option_count_without_table) {
    bh_plugin_descriptor d = valid_descriptor();
    d.options = nullptr;
    EXPECT_EQ(refusal(d),
              "/plugins/fixture.so: plugin 'compress-test' declares 2 options but its option table is NULL");
}

TEST(loader_descriptor, accepts_argv_flag_from_abi_1_1_and_a_1_0_plugin_without_it) {
    const bh_option_spec options[] = {
        {"command", BH_OPT_LIST, BH_OPT_REQUIRED | BH_OPT_ARGV, nullptr, nullptr, "Argv."},
        {"flags", BH_OPT_TABLE, BH_OPT_ARGV, nullptr, nullptr, "Argv too."},
    };
    bh_plugin_descriptor d = valid_descriptor();
    d.abi_minor = 1;
    d.options = options;
    EXPECT_NO_THROW(validate_descriptor(plugin_file, d));

    d.abi_minor = 0;
    d.options = valid_options;  // REQUIRED and SECRET only, as ABI 1.0 defines
    EXPECT_NO_THROW(validate_descriptor(plugin_file, d));
}

TEST(loader_descriptor, refuses_option_flags_its_abi_minor_does_not_define) {
    const bh_option_spec argv[] = {{"command", BH_OPT_LIST, BH_OPT_ARGV, nullptr, nullptr, "Argv."}};
    bh_plugin_descriptor d = valid_descriptor();
    d.abi_minor = 0;
    d.options = argv;
    d.option_count = 1;
    EXPECT_EQ(refusal(d),
              "/plugins/fixture.so: option 'command' of 'compress-test' has flags 0x4 that ABI 1.0 does not "
              "define");

    const bh_option_spec unknown[] = {{"command", BH_OPT_LIST, BH_OPT_REQUIRED | (1u << 5), nullptr, nullptr, "?"}};
    d.abi_minor = BH_ABI_MINOR;
    d.restore_options = unknown;
    d.restore_option_count = 1;
    d.options = nullptr;
    d.option_count = 0;
    d.kind = BH_KIND_SOURCE;
    d.name = "source-test";
    d.transform = nullptr;
    d.source = &source_api;
    EXPECT_EQ(refusal(d),
              "/plugins/fixture.so: restore option 'command' of 'source-test' has flags 0x20 that ABI 1.4 "
              "does not define");
}

TEST(loader_descriptor, refuses_an_option_that_is_both_secret_and_argv) {
    const bh_option_spec options[] = {
        {"password", BH_OPT_STRING, BH_OPT_SECRET | BH_OPT_ARGV, nullptr, nullptr, "On argv?"}};
    bh_plugin_descriptor d = valid_descriptor();
    d.options = options;
    d.option_count = 1;
    EXPECT_EQ(refusal(d),
              "/plugins/fixture.so: option 'password' of 'compress-test' is both BH_OPT_SECRET and "
              "BH_OPT_ARGV: a secret must not be passed on a command line");
}

TEST(loader_descriptor, refuses_option_without_name) {
    const bh_option_spec options[] = {valid_options[0], {nullptr, BH_OPT_INT, 0, nullptr, nullptr, "x"}};
    bh_plugin_descriptor d = valid_descriptor();
    d.options = options;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: option 2 of 'compress-test' has no name");
}

TEST(loader_descriptor, refuses_option_name_that_is_not_snake_case) {
    const bh_option_spec options[] = {{"Level", BH_OPT_INT, 0, nullptr, nullptr, "x"}};
    bh_plugin_descriptor d = valid_descriptor();
    d.options = options;
    d.option_count = 1;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: option 'Level' of 'compress-test' is not snake_case");
}

TEST(loader_descriptor, refuses_duplicate_option) {
    const bh_option_spec options[] = {valid_options[0], valid_options[1], valid_options[0]};
    bh_plugin_descriptor d = valid_descriptor();
    d.options = options;
    d.option_count = 3;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: option 'path' of 'compress-test' is declared twice");
}

TEST(loader_descriptor, refuses_unknown_option_type) {
    const bh_option_spec options[] = {{"level", 9, 0, nullptr, nullptr, "x"}};
    bh_plugin_descriptor d = valid_descriptor();
    d.options = options;
    d.option_count = 1;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: option 'level' of 'compress-test' has unknown type 9");
}

TEST(loader_descriptor, refuses_enum_without_values) {
    const char* const no_values[] = {nullptr};
    for (const char* const* values : {static_cast<const char* const*>(nullptr), no_values}) {
        const bh_option_spec options[] = {{"level", BH_OPT_ENUM, 0, nullptr, values, "x"}};
        bh_plugin_descriptor d = valid_descriptor();
        d.options = options;
        d.option_count = 1;
        EXPECT_EQ(refusal(d), "/plugins/fixture.so: enum option 'level' of 'compress-test' has no values");
    }
}

TEST(loader_descriptor, refuses_restore_options_on_a_non_source) {
    bh_plugin_descriptor d = valid_descriptor();
    d.restore_options = valid_options;
    d.restore_option_count = 1;
    EXPECT_EQ(
        refusal(d),
        "/plugins/fixture.so: transform plugin 'compress-test' declares restore options, which only sources have");
}

TEST(loader_descriptor, checks_restore_options_like_options) {
    const bh_option_spec restore_options[] = {valid_options[1], valid_options[1]};
    bh_plugin_descriptor d = valid_descriptor();
    d.kind = BH_KIND_SOURCE;
    d.name = "source-test";
    d.transform = nullptr;
    d.source = &source_api;
    d.restore_options = restore_options;
    d.restore_option_count = 2;
    EXPECT_EQ(refusal(d), "/plugins/fixture.so: restore option 'level' of 'source-test' is declared twice");
}

}  // namespace
}  // namespace backhaul
