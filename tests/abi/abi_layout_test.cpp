// The ABI 1 layout as compiled on x86_64 Linux (1.1 only added a flag bit). Plugins built against earlier copies of
// plugin_abi.h depend on these exact numbers: a reordered field or a changed type fails here even if the header hash
// record was updated with it.
#include <backhaul/plugin_abi.h>
#include <gtest/gtest.h>

#include <cstddef>

namespace {

#if defined(__x86_64__) && defined(__LP64__)
#define BH_EXPECT_LAYOUT_X86_64 1
#else
#define BH_EXPECT_LAYOUT_X86_64 0
#endif

TEST(abi_layout, descriptor_fields_keep_their_offsets) {
    if (!BH_EXPECT_LAYOUT_X86_64) GTEST_SKIP() << "layout numbers are for x86_64";
    EXPECT_EQ(offsetof(bh_plugin_descriptor, abi_major), 0u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, abi_minor), 4u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, struct_size), 8u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, kind), 12u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, name), 16u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, version), 24u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, description), 32u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, options), 40u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, option_count), 48u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, restore_options), 56u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, restore_option_count), 64u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, variables), 72u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, create), 80u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, destroy), 88u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, secret), 96u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, source), 104u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, transform), 112u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, sink), 120u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, notifier), 128u);
    // ABI 1.2
    EXPECT_EQ(offsetof(bh_plugin_descriptor, limits), 136u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, limit_count), 144u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, restore_limits), 152u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, restore_limit_count), 160u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, validate), 168u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, check), 176u);
    EXPECT_EQ(offsetof(bh_plugin_descriptor, memory_min), 184u);  // added in ABI 1.4
    EXPECT_EQ(sizeof(bh_plugin_descriptor), 192u);
}

TEST(abi_layout, option_structs_keep_their_layout) {
    if (!BH_EXPECT_LAYOUT_X86_64) GTEST_SKIP() << "layout numbers are for x86_64";
    EXPECT_EQ(offsetof(bh_option_spec, type), 8u);
    EXPECT_EQ(offsetof(bh_option_spec, flags), 12u);
    EXPECT_EQ(offsetof(bh_option_spec, default_value), 16u);
    EXPECT_EQ(offsetof(bh_option_spec, enum_values), 24u);
    EXPECT_EQ(offsetof(bh_option_spec, doc), 32u);
    EXPECT_EQ(sizeof(bh_option_spec), 40u);

    EXPECT_EQ(offsetof(bh_option_value, type), 8u);
    EXPECT_EQ(offsetof(bh_option_value, is_set), 12u);
    EXPECT_EQ(offsetof(bh_option_value, str), 16u);
    EXPECT_EQ(offsetof(bh_option_value, num), 24u);
    EXPECT_EQ(offsetof(bh_option_value, items), 32u);
    EXPECT_EQ(offsetof(bh_option_value, item_count), 40u);
    EXPECT_EQ(sizeof(bh_option_value), 48u);

    EXPECT_EQ(offsetof(bh_option_limits, flags), 8u);
    EXPECT_EQ(offsetof(bh_option_limits, min), 16u);
    EXPECT_EQ(offsetof(bh_option_limits, max), 24u);
    EXPECT_EQ(sizeof(bh_option_limits), 32u);
}

TEST(abi_layout, host_and_function_tables_keep_their_layout) {
    if (!BH_EXPECT_LAYOUT_X86_64) GTEST_SKIP() << "layout numbers are for x86_64";
    EXPECT_EQ(offsetof(bh_host, ctx), 8u);
    EXPECT_EQ(offsetof(bh_host, log), 16u);
    EXPECT_EQ(offsetof(bh_host, is_cancelled), 24u);
    EXPECT_EQ(offsetof(bh_host, set_error), 32u);
    EXPECT_EQ(offsetof(bh_host, set_variable), 40u);
    EXPECT_EQ(offsetof(bh_host, memory_share), 48u);  // added in ABI 1.4
    EXPECT_EQ(sizeof(bh_host), 56u);
    EXPECT_EQ(sizeof(bh_problem_sink), 16u);
    EXPECT_EQ(sizeof(bh_check_sink), 24u);
    EXPECT_EQ(offsetof(bh_check_sink, probe_key), 16u);
    EXPECT_EQ(sizeof(bh_output), 16u);

    EXPECT_EQ(sizeof(bh_secret_api), 16u);
    EXPECT_EQ(offsetof(bh_source_api, read), 16u);
    EXPECT_EQ(offsetof(bh_source_api, restore_open), 32u);
    EXPECT_EQ(offsetof(bh_source_api, produces_set), 64u);  // added in ABI 1.3, after the 1.0 fields
    EXPECT_EQ(sizeof(bh_source_api), 96u);
    EXPECT_EQ(offsetof(bh_stream_info, variables), 24u);
    EXPECT_EQ(offsetof(bh_stream_info, restore_phase), 36u);
    EXPECT_EQ(sizeof(bh_stream_info), 40u);
    EXPECT_EQ(offsetof(bh_transform_api, finish), 24u);
    EXPECT_EQ(sizeof(bh_transform_api), 40u);
    EXPECT_EQ(offsetof(bh_sink_api, commit), 24u);
    EXPECT_EQ(offsetof(bh_sink_api, open_read), 40u);
    EXPECT_EQ(offsetof(bh_sink_api, list), 64u);
    EXPECT_EQ(sizeof(bh_sink_api), 88u);
    EXPECT_EQ(sizeof(bh_notifier_api), 16u);

    EXPECT_EQ(sizeof(bh_kv), 16u);
    EXPECT_EQ(offsetof(bh_object_info, size), 16u);
    EXPECT_EQ(sizeof(bh_object_info), 32u);
    EXPECT_EQ(offsetof(bh_run_event, started_unix_ms), 40u);
    EXPECT_EQ(offsetof(bh_run_event, backup_complete), 72u);  // added in ABI 1.1, after the 1.0 fields
    EXPECT_EQ(offsetof(bh_run_event, untouched_objects), 96u);
    EXPECT_EQ(offsetof(bh_run_event, stream_count), 104u);  // added in ABI 1.3
    EXPECT_EQ(offsetof(bh_run_event, failed_sinks), 120u);
    EXPECT_EQ(sizeof(bh_run_event), 128u);
}

// Enum values are part of the ABI as much as offsets: plugins compiled them in as numbers.
TEST(abi_layout, enum_values_are_stable) {
    EXPECT_EQ(BH_OK, 0);
    EXPECT_EQ(BH_END_OF_STREAM, 1);
    EXPECT_EQ(BH_RETRYABLE, 2);
    EXPECT_EQ(BH_FATAL, 3);
    EXPECT_EQ(BH_CANCELLED, 4);
    EXPECT_EQ(BH_INVALID_CONFIG, 5);
    EXPECT_EQ(BH_KIND_SECRET, 1);
    EXPECT_EQ(BH_KIND_NOTIFIER, 5);
    EXPECT_EQ(BH_OPT_STRING, 1);
    EXPECT_EQ(BH_OPT_TABLE, 8);
    EXPECT_EQ(BH_OPT_REQUIRED, 1u);
    EXPECT_EQ(BH_OPT_SECRET, 2u);
    EXPECT_EQ(BH_OPT_ARGV, 4u);  // added in ABI 1.1
    EXPECT_EQ(BH_ENCODE, 0);
    EXPECT_EQ(BH_DECODE, 1);
}

}  // namespace
