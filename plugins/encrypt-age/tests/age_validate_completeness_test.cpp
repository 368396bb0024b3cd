// Every value AgeTransform's create refuses, `backhaul validate` refuses too, at the value's position. Key files are
// not read by validate or create (a missing identity file is a run-time and `backhaul check` matter), so there is no
// case for them here.
#include <gtest/gtest.h>

#include "validate_completeness.hpp"

namespace {

constexpr const char* kRecipient = "age1wduzzde88jhcx0xxt7ukunapcvme8q77l3dlw860dds5c3pnncmsevzm6t";

TEST(AgeCompleteness, ValidateRefusesEverythingCreateRefuses) {
    const std::string recipients = std::string("recipients = [\"") + kRecipient + "\"]";
    backhaul::completeness::expect_complete(
        {.plugin = "encrypt-age",
         .base = recipients,
         .cases = {
             {"recipients", "[\"age1nope\"]", "",
              "transform[0] (encrypt-age): option 'recipients': 'age1nope' is not an age X25519 recipient (age1...)"},
             {"recipients", std::string("[\"") + kRecipient + "\", \"ssh-ed25519 AAAA\"]"},
             {"recipients", "[\"AGE-SECRET-KEY-1QQQ\"]"},
             {"passphrase", "\"\"", "recipients = []", "option 'passphrase': must not be empty"},
             {"passphrase", "\"pw\"", "", "cannot be combined with 'recipients' or 'recipients_file'"},
             {"passphrase", "\"pw\"", "recipients = []\nrecipients_file = \"@TMP@/recipients.txt\""},
             {"work_factor", "0"},
             {"work_factor", "23", "", "option 'work_factor': must be between 1 and 22, got 23"},
             {"recipients_file", "\"\""},
             {"identity_file", "\"\""},
             {"", "", "recipients = []", "needs 'recipients', 'recipients_file' or 'passphrase' to encrypt"},
         }});
}

}  // namespace
