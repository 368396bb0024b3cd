// The age format pieces on their own: Bech32 keys, strict Base64, header parsing limits, the STREAM payload's
// chunking and its failure modes, scrypt limits and key generation.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <random>
#include <stdexcept>
#include <string>

#include "age_file.hpp"
#include "age_keygen.hpp"
#include "base64.hpp"
#include "bech32.hpp"
#include "command_runner.hpp"
#include "format_error.hpp"
#include "header.hpp"

namespace backhaul::age {
namespace {

// A testkit identity and the recipient `age-keygen -y` prints for it.
constexpr const char* kIdentity = "AGE-SECRET-KEY-1XMWWC06LY3EE5RYTXM9MFLAZ2U56JJJ36S0MYPDRWSVLUL66MV4QX3S7F6";
constexpr const char* kRecipient = "age1w3tyke4gev25vaxxsvcgqu4484rf6ejpmavs57p6yz6lhy2sfs5swrvwyn";

std::string random_text(size_t size, uint32_t seed) {
    std::mt19937 engine(seed);
    std::string out(size, '\0');
    for (char& c : out) c = static_cast<char>(engine() & 0xff);
    return out;
}

std::span<const uint8_t> span_of(const std::string& text) { return bytes_of(text); }

ByteSink append_to(std::string& out) {
    return [&out](std::span<const uint8_t> bytes) {
        out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    };
}

X25519Identity test_identity() { return *parse_identity(kIdentity); }

std::string encrypt(const std::string& plaintext, const EncryptionKeys& keys) {
    std::string out;
    AgeEncryptor encryptor(keys, append_to(out));
    encryptor.write(span_of(plaintext));
    encryptor.finish();
    return out;
}

EncryptionKeys to_test_recipient() { return EncryptionKeys{{*parse_recipient(kRecipient)}, std::nullopt, 18}; }

// Decrypts in `piece`-sized writes; returns the plaintext or throws FormatError.
std::string decrypt(const std::string& file, const DecryptionKeys& keys, size_t piece = 8192) {
    std::string out;
    AgeDecryptor decryptor(keys, append_to(out));
    for (size_t at = 0; at < file.size(); at += piece)
        decryptor.write(span_of(file).subspan(at, std::min(piece, file.size() - at)));
    decryptor.finish();
    return out;
}

DecryptionKeys with_test_identity() { return DecryptionKeys{{test_identity()}, std::nullopt}; }

// The failure message of decrypting `file`, or "" if it decrypted.
std::string decrypt_error(const std::string& file, const DecryptionKeys& keys, size_t piece = 8192) {
    try {
        decrypt(file, keys, piece);
        return "";
    } catch (const FormatError& e) {
        return e.what();
    }
}

size_t header_size(const std::string& file) { return file.find("\n", file.find("\n---") + 1) + 1; }

// ---- Bech32 and Base64 ---------------------------------------------------------------------------------------------

TEST(AgeBech32, IdentityRoundTripsAndGivesTheRecipientAgeKeygenPrints) {
    std::optional<X25519Identity> identity = parse_identity(kIdentity);
    ASSERT_TRUE(identity);
    EXPECT_EQ(format_identity(*identity), kIdentity);
    EXPECT_EQ(format_recipient(X25519Recipient{identity->public_key}), kRecipient);
    std::optional<X25519Recipient> recipient = parse_recipient(kRecipient);
    ASSERT_TRUE(recipient);
    EXPECT_EQ(recipient->public_key, identity->public_key);
}

TEST(AgeBech32, RejectsBadChecksumMixedCaseWrongHrpAndWrongLength) {
    std::string flipped = kRecipient;
    flipped[10] = flipped[10] == 'q' ? 'p' : 'q';
    EXPECT_FALSE(parse_recipient(flipped));
    std::string mixed = kIdentity;
    mixed[20] = static_cast<char>(std::tolower(mixed[20]));
    EXPECT_FALSE(parse_identity(mixed));
    EXPECT_FALSE(parse_recipient(kIdentity));  // an identity is not a recipient
    EXPECT_FALSE(parse_identity(kRecipient));
    std::vector<uint8_t> short_key(31, 7);
    EXPECT_FALSE(parse_recipient(bech32_encode("age", short_key)));
    EXPECT_FALSE(bech32_decode("age1"));
    // Upper case is valid Bech32 but not a valid age recipient.
    std::string upper = kRecipient;
    for (char& c : upper) c = static_cast<char>(std::toupper(c));
    EXPECT_TRUE(bech32_decode(upper));
    EXPECT_FALSE(parse_recipient(upper));
}

TEST(AgeBase64, IsUnpaddedAndCanonicalOnly) {
    std::string data = "YELLOW SUBMARINE!";
    for (size_t n = 0; n <= data.size(); ++n) {
        std::string encoded = base64_encode(span_of(data.substr(0, n)));
        EXPECT_EQ(encoded.find('='), std::string::npos);
        std::optional<std::vector<uint8_t>> decoded = base64_decode(encoded);
        ASSERT_TRUE(decoded) << encoded;
        EXPECT_EQ(std::string(decoded->begin(), decoded->end()), data.substr(0, n));
    }
    EXPECT_TRUE(base64_decode("QUE"));
    EXPECT_FALSE(base64_decode("QUE="));   // padding
    EXPECT_FALSE(base64_decode("QUF"));    // non-zero unused bits
    EXPECT_FALSE(base64_decode("QUFBQ"));  // 4n+1 characters
    EXPECT_FALSE(base64_decode("QU-E"));   // URL alphabet
    EXPECT_FALSE(base64_decode("QU E"));
}

// ---- Header ---------------------------------------------------------------------------------------------------------

std::string parse_header_error(const std::string& text) {
    HeaderParser parser;
    try {
        parser.feed(span_of(text));
    } catch (const FormatError& e) {
        return e.what();
    }
    return parser.done() ? "" : "incomplete";
}

TEST(AgeHeader, EncodesBodiesAt64ColumnsWithAShortFinalLineAndParsesBack) {
    std::vector<Stanza> stanzas = {{"X25519", {"abc"}, std::vector<uint8_t>(48, 1)},
                                   {"grease-x", {"a", "b"}, {}},
                                   {"X25519", {"def"}, std::vector<uint8_t>(50, 2)}};
    HeaderMac mac{};
    mac[0] = 9;
    std::string text = encode_header(stanzas, mac);
    EXPECT_EQ(text.substr(0, 22), "age-encryption.org/v1\n");
    EXPECT_NE(
        text.find("-> X25519 abc\n" + std::string(64, 'A').replace(0, 64, base64_encode(stanzas[0].body)) + "\n\n"),
        std::string::npos);
    EXPECT_NE(text.find("-> grease-x a b\n\n"), std::string::npos);
    HeaderParser parser;
    std::string with_payload = text + "PAYLOAD";
    EXPECT_EQ(parser.feed(span_of(with_payload)), text.size());
    ASSERT_TRUE(parser.done());
    ASSERT_EQ(parser.header().stanzas.size(), 3u);
    EXPECT_EQ(parser.header().stanzas[1].args, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(parser.header().stanzas[2].body, stanzas[2].body);
    EXPECT_EQ(parser.header().mac, mac);
}

TEST(AgeHeader, RejectsHostileOrNonCanonicalInputWithClearErrors) {
    const std::string v = "age-encryption.org/v1\n";
    const std::string mac = "--- " + base64_encode(HeaderMac{}) + "\n";
    EXPECT_EQ(parse_header_error("\x1f\x8b\x08 gzip data"),
              "not an age file: it does not start with 'age-encryption.org/v1'");
    EXPECT_EQ(parse_header_error("-----BEGIN AGE ENCRYPTED FILE-----\n"),
              "not an age file: it does not start with 'age-encryption.org/v1'");
    EXPECT_EQ(parse_header_error("age-encryption.org/v2\n"),
              "not an age file: it does not start with 'age-encryption.org/v1'");
    EXPECT_EQ(parse_header_error(v + "-> X25519 " + std::string(5000, 'a')),
              "invalid age header: line 2 is longer than 4096 bytes");
    EXPECT_EQ(parse_header_error(v + "-> X25519 abc\r\n\n" + mac),
              "invalid age header: line 2: stanza arguments must be non-empty printable ASCII separated by single "
              "spaces");
    EXPECT_EQ(parse_header_error(v + "->\n\n" + mac),
              "invalid age header: line 2 is neither a stanza ('-> ') nor the "
              "MAC ('--- ')");
    EXPECT_EQ(parse_header_error(v + "-> a  b\n\n" + mac),
              "invalid age header: line 2: stanza arguments must be non-empty printable ASCII separated by single "
              "spaces");
    EXPECT_EQ(parse_header_error(v + "-> a\nQUE=\n" + mac),
              "invalid age header: line 3: stanza body lines must be unpadded Base64 of at most 64 columns");
    EXPECT_EQ(parse_header_error(v + "-> a\nQUF\n" + mac),
              "invalid age header: line 3: stanza body is not canonical "
              "Base64");
    EXPECT_EQ(parse_header_error(v + "-> a\n\n---\n"),
              "invalid age header: line 4: the MAC line must be '--- ' and 43 Base64 characters");
    // Many short lines: the total size is capped too.
    std::string many = v;
    while (many.size() <= HeaderParser::kMaxHeaderSize) many += "-> a\n\n";
    EXPECT_EQ(parse_header_error(many), "invalid age header: header is larger than 1048576 bytes");
}

TEST(AgeHeader, TruncatedHeaderIsAClearError) {
    std::string file = encrypt("data", to_test_recipient());
    EXPECT_EQ(decrypt_error(file.substr(0, 40), with_test_identity()), "truncated age file: the header is incomplete");
    EXPECT_EQ(decrypt_error("", with_test_identity()), "truncated age file: the header is incomplete");
}

// ---- Whole files ----------------------------------------------------------------------------------------------------

class AgeRoundTrip : public ::testing::TestWithParam<size_t> {};

TEST_P(AgeRoundTrip, DecryptsToTheSameBytesWhateverThePieceSize) {
    std::string plaintext = random_text(GetParam(), 11);
    std::string file = encrypt(plaintext, to_test_recipient());
    size_t chunks = plaintext.empty() ? 1 : (plaintext.size() + kChunkSize - 1) / kChunkSize;
    EXPECT_EQ(file.size(), header_size(file) + kPayloadNonceSize + plaintext.size() + chunks * kAeadTagSize);
    for (size_t piece : {size_t{1} << 20, size_t{65552}, size_t{4096}, size_t{7}}) {
        SCOPED_TRACE("piece " + std::to_string(piece));
        EXPECT_TRUE(decrypt(file, with_test_identity(), piece) == plaintext);
    }
}

INSTANTIATE_TEST_SUITE_P(Sizes, AgeRoundTrip,
                         ::testing::Values(0, 1, kChunkSize - 1, kChunkSize, kChunkSize + 1, 2 * kChunkSize,
                                           3 * kChunkSize + 12345));

TEST(AgePayload, TruncationAtAChunkBoundaryIsAMissingFinalChunk) {
    std::string file = encrypt(random_text(3 * kChunkSize, 1), to_test_recipient());
    size_t payload = header_size(file) + kPayloadNonceSize;
    std::string cut = file.substr(0, payload + 2 * kSealedChunkSize);
    EXPECT_EQ(decrypt_error(cut, with_test_identity()), "truncated age file: the final chunk is missing");
    EXPECT_EQ(decrypt_error(file.substr(0, payload), with_test_identity()),
              "truncated age file: the final chunk is missing");
    EXPECT_EQ(decrypt_error(file.substr(0, payload - 3), with_test_identity()),
              "truncated age file: the payload nonce is incomplete");
    EXPECT_EQ(decrypt_error(file.substr(0, file.size() - 1), with_test_identity()),
              "age payload chunk 3 failed authentication: the file is corrupted, truncated or was modified");
}

TEST(AgePayload, ReorderedTamperedAndExtendedPayloadsFail) {
    std::string file = encrypt(random_text(3 * kChunkSize + 10, 2), to_test_recipient());
    size_t payload = header_size(file) + kPayloadNonceSize;
    std::string swapped = file;
    std::copy_n(file.begin() + static_cast<ptrdiff_t>(payload + kSealedChunkSize), kSealedChunkSize,
                swapped.begin() + static_cast<ptrdiff_t>(payload));
    std::copy_n(file.begin() + static_cast<ptrdiff_t>(payload), kSealedChunkSize,
                swapped.begin() + static_cast<ptrdiff_t>(payload + kSealedChunkSize));
    EXPECT_EQ(decrypt_error(swapped, with_test_identity()),
              "age payload chunk 1 failed authentication: the file is corrupted, truncated or was modified");
    std::string flipped = file;
    flipped[payload + 2 * kSealedChunkSize + 100] ^= 1;
    EXPECT_EQ(decrypt_error(flipped, with_test_identity()),
              "age payload chunk 3 failed authentication: the file is corrupted, truncated or was modified");
    EXPECT_EQ(decrypt_error(file + "x", with_test_identity()),
              "age payload chunk 4 failed authentication: the file is corrupted, truncated or was modified");
    // A full final chunk followed by more data is recognised as an extended file.
    std::string full = encrypt(random_text(kChunkSize, 3), to_test_recipient());
    EXPECT_EQ(decrypt_error(full + "trailing", with_test_identity()), "trailing data after the end of the age payload");
}

TEST(AgePayload, PlaintextOfAFailingChunkIsNeverReleased) {
    std::string plaintext = random_text(2 * kChunkSize + 5, 4);
    std::string file = encrypt(plaintext, to_test_recipient());
    file[file.size() - 1] ^= 1;
    std::string released;
    AgeDecryptor decryptor(with_test_identity(), append_to(released));
    decryptor.write(span_of(file));
    EXPECT_THROW(decryptor.finish(), FormatError);
    EXPECT_TRUE(released == plaintext.substr(0, 2 * kChunkSize));
}

TEST(AgeHeaderMac, WrongIdentityAndModifiedHeaderFail) {
    std::string file = encrypt("secret", to_test_recipient());
    Key32 other{};
    other[0] = 42;
    EXPECT_EQ(decrypt_error(file, DecryptionKeys{{identity_from_private_key(other)}, std::nullopt}),
              "no identity matched any of the recipients");
    // Add a stanza after the real one: the MAC no longer covers the header.
    size_t mac_line = file.find("\n---") + 1;
    std::string extended = file.substr(0, mac_line) + "-> grease\n\n" + file.substr(mac_line);
    EXPECT_EQ(decrypt_error(extended, with_test_identity()), "bad age header MAC: the header was modified");
}

TEST(AgeRecipients, EveryRecipientOfAMultiRecipientFileCanDecrypt) {
    AgeKeyPair second = generate_age_keypair();
    EncryptionKeys keys = to_test_recipient();
    keys.recipients.push_back(*parse_recipient(second.recipient));
    std::string file = encrypt("for two", keys);
    EXPECT_EQ(decrypt(file, with_test_identity()), "for two");
    EXPECT_EQ(decrypt(file, DecryptionKeys{{*parse_identity(second.identity)}, std::nullopt}), "for two");
}

TEST(AgeScrypt, PassphraseRoundTripsAndAWrongOneDoesNotMatch) {
    std::string file = encrypt("by passphrase", EncryptionKeys{{}, "correct horse", 10});
    EXPECT_NE(file.find("\n-> scrypt "), std::string::npos);
    EXPECT_NE(file.find(" 10\n"), std::string::npos);
    EXPECT_EQ(decrypt(file, DecryptionKeys{{}, "correct horse"}), "by passphrase");
    EXPECT_EQ(decrypt_error(file, DecryptionKeys{{}, "wrong"}), "no identity matched any of the recipients");
    EXPECT_EQ(decrypt_error(file, with_test_identity()), "no identity matched any of the recipients");
}

TEST(AgeScrypt, HostileWorkFactorsAreRefusedBeforeAnyWork) {
    Stanza stanza{"scrypt", {base64_encode(std::vector<uint8_t>(16, 1)), "23"}, std::vector<uint8_t>(32, 0)};
    try {
        unwrap_scrypt(stanza, "pw");
        FAIL() << "work factor 23 accepted";
    } catch (const FormatError& e) {
        EXPECT_STREQ(e.what(), "invalid age header: the scrypt work factor 23 is above the maximum of 22");
    }
    for (const char* bad : {"010", "+10", "0x10", "-1", "1e1", "", "100000000000"}) {
        stanza.args[1] = bad;
        EXPECT_THROW(unwrap_scrypt(stanza, "pw"), FormatError) << bad;
    }
}

// ---- Key generation -------------------------------------------------------------------------------------------------

TEST(AgeKeygen, GeneratesAMatchingPairAndWritesAnAgeKeygenStyleFileWithMode0600) {
    AgeKeyPair keys = generate_age_keypair();
    std::optional<X25519Identity> identity = parse_identity(keys.identity);
    ASSERT_TRUE(identity);
    EXPECT_EQ(format_recipient(X25519Recipient{identity->public_key}), keys.recipient);
    EXPECT_NE(generate_age_keypair().identity, keys.identity);

    testing::TempDir dir;
    std::string path = (dir / "key.txt").string();
    write_identity_file(path, keys);
    struct stat info {};
    ASSERT_EQ(stat(path.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    std::string text = testing::read_file(path);
    EXPECT_NE(text.find("# public key: " + keys.recipient + "\n" + keys.identity + "\n"), std::string::npos);
    EXPECT_EQ(read_identity_file(path).front().public_key, identity->public_key);
    // The real tool agrees on the recipient.
    testing::CommandResult derived = testing::run_command({"age-keygen", "-y", path});
    ASSERT_EQ(derived.exit_code, 0) << derived.err;
    EXPECT_EQ(derived.out, keys.recipient + "\n");
    // Never overwrite a key.
    try {
        write_identity_file(path, generate_age_keypair());
        FAIL() << "overwrote an identity file";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "cannot create identity file '" + path + "': File exists");
    }
}

TEST(AgeIdentityFile, RefusesGroupOrOtherAccessAndBadLines) {
    testing::TempDir dir;
    std::string path = (dir / "id.txt").string();
    testing::write_file(path, std::string("# comment\n\n") + kIdentity + "\n");
    chmod(path.c_str(), 0640);
    try {
        read_identity_file(path);
        FAIL() << "accepted a group-readable identity file";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), Status::invalid_config);
        EXPECT_EQ(std::string(e.what()), "permissions 0640 for identity_file '" + path +
                                             "' are too open: it must not be accessible by group or others (chmod "
                                             "600 '" +
                                             path + "')");
    }
    chmod(path.c_str(), 0400);
    EXPECT_EQ(read_identity_file(path).size(), 1u);
    EXPECT_THROW(parse_identities_text("# only a comment\n", "f"), Error);
    try {
        parse_identities_text(std::string(kIdentity) + "\nAGE-SECRET-KEY-1BROKEN\n", "identity_file 'x'");
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "identity_file 'x' line 2: not an age identity (AGE-SECRET-KEY-1...)");
    }
    try {
        parse_recipients_text(std::string("# team\n") + kRecipient + "\nssh-ed25519 AAAA\n", "recipients_file 'r'");
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "recipients_file 'r' line 3: not an age X25519 recipient (age1...): 'ssh-ed25519 AAAA'");
    }
}

}  // namespace
}  // namespace backhaul::age
