// The code the core and the plugins share (common/): known-answer digests, the encodings, wiping and the size format.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <backhaul/common/digest.hpp>
#include <backhaul/common/encoding.hpp>
#include <backhaul/common/human_bytes.hpp>
#include <backhaul/common/secure_memory.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace backhaul::common {
namespace {

std::string hex_of(const std::array<uint8_t, 32>& digest, size_t length) {
    return hex(std::span(digest).first(length));
}

TEST(Sha256Digest, KnownAnswers) {
    EXPECT_EQ(hex(sha256(std::string_view())), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Digest, IncrementalEqualsOneShot) {
    const std::string text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    IncrementalDigest digest(IncrementalDigest::Algorithm::sha256);
    digest.update(std::string_view(text).substr(0, 10));
    digest.update(std::span<const uint8_t>());
    digest.update(std::string_view(text).substr(10));
    size_t length = 0;
    const std::array<uint8_t, 32> out = digest.finish(&length);
    EXPECT_EQ(length, 32u);
    EXPECT_EQ(hex_of(out, length), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(hex_of(out, length), hex(sha256(text)));
}

TEST(Md5Digest, KnownAnswersOneShotAndIncremental) {
    EXPECT_EQ(hex(md5("abc")), "900150983cd24fb0d6963f7d28e17f72");
    IncrementalDigest digest(IncrementalDigest::Algorithm::md5);
    digest.update("a");
    digest.update("bc");
    size_t length = 0;
    const std::array<uint8_t, 32> out = digest.finish(&length);
    EXPECT_EQ(length, 16u);
    EXPECT_EQ(hex_of(out, length), "900150983cd24fb0d6963f7d28e17f72");
}

TEST(HmacSha256Digest, Rfc4231Case2AndEmptyKey) {
    EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(hex(hmac_sha256("", "")), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(Encoding, HexIsLowerCase) {
    const std::vector<uint8_t> bytes = {0x00, 0x0f, 0xa5, 0xff};
    EXPECT_EQ(hex(bytes), "000fa5ff");
    EXPECT_EQ(hex(std::span<const uint8_t>()), "");
}

TEST(Encoding, Base64RoundTripsWithPadding) {
    for (const std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
        const std::string encoded = base64(bytes_of(text));
        EXPECT_EQ(encoded.size() % 4, 0u) << text;
        const std::optional<std::vector<uint8_t>> decoded = base64_decode(encoded);
        ASSERT_TRUE(decoded) << encoded;
        EXPECT_EQ(std::string(decoded->begin(), decoded->end()), text);
    }
    EXPECT_EQ(base64(bytes_of("foobar")), "Zm9vYmFy");
    EXPECT_EQ(base64(bytes_of("fo")), "Zm8=");
}

TEST(Encoding, Base64DecodeRefusesBadInput) {
    EXPECT_FALSE(base64_decode("Zm8"));
    EXPECT_FALSE(base64_decode("Zm8*"));
}

TEST(SecureWipe, ZeroesTheWholeBuffer) {
    std::string text = "a secret that is longer than the small-string buffer";
    text.resize(3);
    const char* buffer = text.data();
    const size_t capacity = text.capacity();
    wipe(text);
    EXPECT_TRUE(text.empty());
    ASSERT_EQ(text.data(), buffer);  // clear() keeps the allocation, so reading it back is defined
    for (size_t i = 0; i < capacity; ++i) ASSERT_EQ(buffer[i], '\0') << i;
}

TEST(SecureWipe, SecretStringWipesLikeAString) {
    SecretString secret = "a secret value long enough to be allocated";
    wipe(secret);
    EXPECT_TRUE(secret.empty());
    secret += "again";
    EXPECT_EQ(secret, "again");
}

TEST(HumanBytes, BinaryUnitsWithOneDecimal) {
    EXPECT_EQ(human_bytes(uint64_t{0}), "0 B");
    EXPECT_EQ(human_bytes(uint64_t{1023}), "1023 B");
    EXPECT_EQ(human_bytes(uint64_t{1024}), "1.0 KiB");
    EXPECT_EQ(human_bytes(uint64_t{100'000}), "97.7 KiB");
    EXPECT_EQ(human_bytes(uint64_t{3} << 29), "1.5 GiB");
    EXPECT_EQ(human_bytes(uint64_t{2} << 40), "2.0 TiB");
    EXPECT_EQ(human_bytes(uint64_t{3000} << 40), "3000.0 TiB");
}

TEST(HumanBytes, SignedCountsAreTheSameAndNegativeOnesZero) {
    EXPECT_EQ(human_bytes(int64_t{100'000}), "97.7 KiB");
    EXPECT_EQ(human_bytes(int64_t{512}), "512 B");
    EXPECT_EQ(human_bytes(int64_t{-1}), "0 B");
}

}  // namespace
}  // namespace backhaul::common
