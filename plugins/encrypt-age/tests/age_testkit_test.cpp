// The published age testkit (C2SP/CCTV age/testdata, 0BSD/CC0): each vector is decrypted and must fail at the layer
// its `expect` line names, or succeed with the payload whose SHA-256 it gives. See testkit/README.md for the subset.
#include <gtest/gtest.h>

#include <backhaul/support/crypto/digest.hpp>
#include <backhaul/support/crypto/encoding.hpp>
#include <filesystem>
#include <map>

#include "age_file.hpp"
#include "command_runner.hpp"
#include "format_error.hpp"

namespace backhaul::age {
namespace {

struct Vector {
    std::string name;
    std::multimap<std::string, std::string> fields;
    std::string file;
};

Vector load(const std::filesystem::path& path) {
    Vector vector{path.filename().string(), {}, {}};
    std::string text = testing::read_file(path);
    size_t at = 0;
    while (true) {
        size_t end = text.find('\n', at);
        std::string line = text.substr(at, end - at);
        at = end + 1;
        if (line.empty()) break;
        size_t colon = line.find(": ");
        vector.fields.emplace(line.substr(0, colon), line.substr(colon + 2));
    }
    vector.file = text.substr(at);
    return vector;
}

std::vector<std::string> vector_names() {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(AGE_TESTKIT_DIR))
        if (entry.path().filename() != "README.md") names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

class AgeTestkit : public ::testing::TestWithParam<std::string> {};

TEST_P(AgeTestkit, FailsAtTheExpectedLayerOrDecryptsToTheExpectedPayload) {
    Vector vector = load(std::filesystem::path(AGE_TESTKIT_DIR) / GetParam());
    DecryptionKeys keys;
    for (auto [it, end] = vector.fields.equal_range("identity"); it != end; ++it) {
        std::optional<X25519Identity> identity = parse_identity(it->second);
        ASSERT_TRUE(identity) << it->second;
        keys.identities.push_back(*identity);
    }
    if (auto it = vector.fields.find("passphrase"); it != vector.fields.end()) keys.passphrase = it->second;

    std::string released;
    std::string outcome = "success";
    try {
        AgeDecryptor decryptor(keys, [&](std::span<const uint8_t> bytes) {
            released.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        });
        decryptor.write(bytes_of(vector.file));
        decryptor.finish();
    } catch (const FormatError& e) {
        switch (e.kind()) {
            case FailureKind::header:
                outcome = "header failure";
                break;
            case FailureKind::no_match:
                outcome = "no match";
                break;
            case FailureKind::header_mac:
                outcome = "HMAC failure";
                break;
            case FailureKind::payload:
                outcome = "payload failure";
                break;
        }
        SCOPED_TRACE(e.what());
    }
    EXPECT_EQ(outcome, vector.fields.find("expect")->second);
    if (auto it = vector.fields.find("payload"); it != vector.fields.end())
        EXPECT_EQ(crypto::hex(crypto::sha256(std::string_view(released))), it->second);
    else
        EXPECT_EQ(released, "");
}

INSTANTIATE_TEST_SUITE_P(Vectors, AgeTestkit, ::testing::ValuesIn(vector_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace backhaul::age
