// The shared crypto helpers and the SigV4 signer against published vectors: FIPS/RFC digests, AWS's SigV4 test suite
// (the cases whose rules S3 shares: no path normalisation, single encoding) and the worked examples of the S3 API
// reference ("Signature Calculations for the Authorization Header": GET with Range, PUT, GET ?lifecycle, ListObjects).
#include <gtest/gtest.h>

#include <backhaul/support/aws/sigv4.hpp>
#include <backhaul/support/crypto/digest.hpp>
#include <backhaul/support/crypto/encoding.hpp>

namespace backhaul {
namespace {

using aws::SignableRequest;

TEST(Crypto, DigestsMatchPublishedVectors) {
    EXPECT_EQ(crypto::hex(crypto::sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(crypto::hex(crypto::sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(crypto::hex(crypto::md5("")), "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(crypto::hex(crypto::md5("The quick brown fox jumps over the lazy dog")),
              "9e107d9d372bb6826bd81d3542a419d6");
    // RFC 4231, test case 2.
    EXPECT_EQ(crypto::hex(crypto::hmac_sha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, IncrementalDigestEqualsOneShot) {
    crypto::IncrementalDigest sha(crypto::IncrementalDigest::Algorithm::sha256);
    sha.update("a");
    sha.update("bc");
    size_t length = 0;
    auto digest = sha.finish(&length);
    EXPECT_EQ(length, 32u);
    EXPECT_EQ(crypto::hex(std::span<const uint8_t>(digest.data(), length)), crypto::hex(crypto::sha256("abc")));
    crypto::IncrementalDigest md5(crypto::IncrementalDigest::Algorithm::md5);
    md5.update("The quick brown fox ");
    md5.update("jumps over the lazy dog");
    auto md5_digest = md5.finish(&length);
    EXPECT_EQ(length, 16u);
    EXPECT_EQ(crypto::hex(std::span<const uint8_t>(md5_digest.data(), length)), "9e107d9d372bb6826bd81d3542a419d6");
}

TEST(Crypto, Base64RoundTripsWithPadding) {
    EXPECT_EQ(crypto::base64(crypto::md5("")), "1B2M2Y8AsgTpgAmY7PhCfg==");
    EXPECT_EQ(crypto::base64(crypto::bytes_of("")), "");
    EXPECT_EQ(crypto::base64(crypto::bytes_of("f")), "Zg==");
    EXPECT_EQ(crypto::base64(crypto::bytes_of("fo")), "Zm8=");
    EXPECT_EQ(crypto::base64(crypto::bytes_of("foo")), "Zm9v");
    auto decoded = crypto::base64_decode("Zm8=");
    ASSERT_TRUE(decoded);
    EXPECT_EQ(std::string(decoded->begin(), decoded->end()), "fo");
    EXPECT_FALSE(crypto::base64_decode("Zm8"));
}

TEST(UriEncoding, FollowsSigV4Rules) {
    EXPECT_EQ(aws::uri_encode("a b+c%d/e~f"), "a%20b%2Bc%25d%2Fe~f");
    EXPECT_EQ(aws::uri_encode_path("dir/a b+c%d 한.gz"), "dir/a%20b%2Bc%25d%20%ED%95%9C.gz");
    EXPECT_EQ(aws::uri_encode_path("test$file.text"), "test%24file.text");
    EXPECT_EQ(aws::uri_decode("a%20b%2Bc+%ED%95%9C%zz"), "a b+c+한%zz");
    EXPECT_EQ(aws::canonical_query_string({{"uploads", ""}}), "uploads=");
    EXPECT_EQ(aws::canonical_query_string({{"prefix", "a b/"}, {"marker", "x+y"}, {"max-keys", "2"}}),
              "marker=x%2By&max-keys=2&prefix=a%20b%2F");
}

TEST(AmzDate, IsUtcBasicFormat) {
    EXPECT_EQ(aws::amz_date(std::chrono::system_clock::from_time_t(1440938160)), "20150830T123600Z");
}

// ---- AWS SigV4 test suite (aws-c-auth tests/aws-signing-test-suite/v4, the header-signed cases) --------------------

const aws::Credentials kSuiteCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
const aws::Scope kSuiteScope{"us-east-1", "service"};
const std::string kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct SuiteCase {
    std::string name;
    std::string method;
    std::string path;  // as sent, encoded once (S3 rules)
    aws::QueryParameters query;
    aws::HeaderList extra_headers;
    std::string signature;
};

class SigV4TestSuite : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(SigV4TestSuite, SignatureMatches) {
    const SuiteCase& c = GetParam();
    SignableRequest request{c.method, c.path, c.query, {{"Host", "example.amazonaws.com"}}, kEmptySha256};
    for (const auto& header : c.extra_headers) request.headers.push_back(header);
    request.headers.emplace_back("X-Amz-Date", "20150830T123600Z");
    aws::Signature signature = aws::sign(request, kSuiteCredentials, kSuiteScope, "20150830T123600Z");
    EXPECT_EQ(signature.signature, c.signature) << signature.canonical_request;
}

const std::string kUnreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

INSTANTIATE_TEST_SUITE_P(
    Aws, SigV4TestSuite,
    ::testing::Values(
        SuiteCase{
            "get_vanilla", "GET", "/", {}, {}, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
        SuiteCase{
            "post_vanilla", "POST", "/", {}, {}, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
        SuiteCase{"get_vanilla_query_order_key_case",
                  "GET",
                  "/",
                  {{"Param2", "value2"}, {"Param1", "value1"}},
                  {},
                  "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
        SuiteCase{"get_vanilla_empty_query_key",
                  "GET",
                  "/",
                  {{"Param1", "value1"}},
                  {},
                  "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
        SuiteCase{"get_vanilla_query_unreserved",
                  "GET",
                  "/",
                  {{kUnreserved, kUnreserved}},
                  {},
                  "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
        SuiteCase{"get_vanilla_utf8_query",
                  "GET",
                  "/",
                  {{"\xe1\x88\xb4", "bar"}},
                  {},
                  "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
        SuiteCase{"get_unreserved",
                  "GET",
                  "/" + kUnreserved,
                  {},
                  {},
                  "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
        SuiteCase{"get_header_value_trim",
                  "GET",
                  "/",
                  {},
                  {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
                  "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
        SuiteCase{"get_slashes_unnormalized",
                  "GET",
                  "//example//",
                  {},
                  {},
                  "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5"},
        SuiteCase{"get_relative_relative_unnormalized",
                  "GET",
                  "/example1/example2/../..",
                  {},
                  {},
                  "dc33e0856fd4baca4d7aa2146c38958283844764f38c74252a333df5e613003b"}),
    [](const ::testing::TestParamInfo<SuiteCase>& info) { return info.param.name; });

TEST(SigV4TestSuite, PostFormWithSignedPayloadHash) {
    // post-x-www-form-urlencoded, the variant that signs x-amz-content-sha256 as S3 requests do.
    std::string body = "Param1=value1";
    std::string payload = crypto::hex(crypto::sha256(body));
    ASSERT_EQ(payload, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
    SignableRequest request{"POST",
                            "/",
                            {},
                            {{"Content-Type", "application/x-www-form-urlencoded"},
                             {"Host", "example.amazonaws.com"},
                             {"Content-Length", "13"},
                             {"x-amz-content-sha256", payload},
                             {"X-Amz-Date", "20150830T123600Z"}},
                            payload};
    aws::Signature signature = aws::sign(request, kSuiteCredentials, kSuiteScope, "20150830T123600Z");
    EXPECT_EQ(signature.signed_headers, "content-length;content-type;host;x-amz-content-sha256;x-amz-date");
    EXPECT_EQ(signature.signature, "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b");
}

TEST(SigV4TestSuite, AuthorizationHeaderFormat) {
    SignableRequest request{
        "GET", "/", {}, {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}}, kEmptySha256};
    aws::Signature signature = aws::sign(request, kSuiteCredentials, kSuiteScope, "20150830T123600Z");
    EXPECT_EQ(signature.canonical_request,
              "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + kEmptySha256);
    EXPECT_EQ(signature.string_to_sign,
              "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
              "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
    EXPECT_EQ(
        signature.authorization,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, RejectsMalformedDate) {
    SignableRequest request{"GET", "/", {}, {{"host", "h"}}, kEmptySha256};
    EXPECT_THROW(aws::sign(request, kSuiteCredentials, kSuiteScope, "2015-08-30"), std::invalid_argument);
}

TEST(SigV4, AccessKeyWithColonGoesIntoTheCredentialAsIs) {
    SignableRequest request{
        "GET", "/", {}, {{"host", "127.0.0.1:8080"}, {"x-amz-date", "20150830T123600Z"}}, kEmptySha256};
    aws::Signature signature =
        aws::sign(request, {"test:tester", "testing", ""}, {"us-east-1", "s3"}, "20150830T123600Z");
    EXPECT_TRUE(signature.authorization.starts_with(
        "AWS4-HMAC-SHA256 Credential=test:tester/20150830/us-east-1/s3/aws4_request, "))
        << signature.authorization;
}

// ---- S3 API reference worked examples (examplebucket, 20130524) ----------------------------------------------------

const aws::Credentials kS3DocCredentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const aws::Scope kS3Scope{"us-east-1", "s3"};
const std::string kS3Date = "20130524T000000Z";
const std::string kS3Host = "examplebucket.s3.amazonaws.com";

TEST(S3WorkedExamples, GetObjectWithRange) {
    SignableRequest request{
        "GET",
        "/test.txt",
        {},
        {{"Host", kS3Host}, {"Range", "bytes=0-9"}, {"x-amz-content-sha256", kEmptySha256}, {"x-amz-date", kS3Date}},
        kEmptySha256};
    aws::Signature signature = aws::sign(request, kS3DocCredentials, kS3Scope, kS3Date);
    EXPECT_EQ(
        signature.canonical_request,
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:" + kEmptySha256 +
            "\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n" + kEmptySha256);
    EXPECT_EQ(signature.string_to_sign,
              "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
              "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    EXPECT_EQ(signature.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(S3WorkedExamples, PutObject) {
    std::string payload = crypto::hex(crypto::sha256("Welcome to Amazon S3."));
    ASSERT_EQ(payload, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    SignableRequest request{"PUT",
                            "/" + aws::uri_encode_path("test$file.text"),
                            {},
                            {{"Host", kS3Host},
                             {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                             {"x-amz-date", kS3Date},
                             {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                             {"x-amz-content-sha256", payload}},
                            payload};
    aws::Signature signature = aws::sign(request, kS3DocCredentials, kS3Scope, kS3Date);
    EXPECT_EQ(signature.string_to_sign,
              "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
              "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
    EXPECT_EQ(signature.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(S3WorkedExamples, GetBucketLifecycle) {
    SignableRequest request{"GET",
                            "/",
                            {{"lifecycle", ""}},
                            {{"Host", kS3Host}, {"x-amz-date", kS3Date}, {"x-amz-content-sha256", kEmptySha256}},
                            kEmptySha256};
    aws::Signature signature = aws::sign(request, kS3DocCredentials, kS3Scope, kS3Date);
    EXPECT_EQ(signature.string_to_sign,
              "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
              "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
    EXPECT_EQ(signature.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(S3WorkedExamples, ListObjects) {
    SignableRequest request{"GET",
                            "/",
                            {{"prefix", "J"}, {"max-keys", "2"}},
                            {{"Host", kS3Host}, {"x-amz-date", kS3Date}, {"x-amz-content-sha256", kEmptySha256}},
                            kEmptySha256};
    aws::Signature signature = aws::sign(request, kS3DocCredentials, kS3Scope, kS3Date);
    EXPECT_EQ(signature.canonical_request,
              "GET\n/\nmax-keys=2&prefix=J\nhost:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:" + kEmptySha256 +
                  "\nx-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n" + kEmptySha256);
    EXPECT_EQ(signature.string_to_sign,
              "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
              "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
    EXPECT_EQ(signature.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

}  // namespace
}  // namespace backhaul
