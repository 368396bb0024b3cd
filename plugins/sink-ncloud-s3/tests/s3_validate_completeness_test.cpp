// Every value S3Sink's create refuses (its limits and validate), `backhaul validate` refuses too, at the value's
// position.
#include <gtest/gtest.h>

#include "validate_completeness.hpp"

namespace {

TEST(S3Completeness, ValidateRefusesEverythingCreateRefuses) {
    backhaul::completeness::expect_complete(
        {.plugin = "sink-ncloud-s3",
         // No keys: the AWS CLI's chain supplies them at run time, so every key option can be tested on its own.
         .base = "bucket = \"db-backups\"",
         .cases = {
             {"endpoint", "\"kr.object.ncloudstorage.com\"", "", "must be an http:// or https:// URL"},
             {"endpoint", "\"ftp://kr.object.ncloudstorage.com\""},
             {"endpoint", "\"https://key:secret@kr.object.ncloudstorage.com\""},
             {"endpoint", "\"https://bad host/\"", "", "must name a valid host"},
             {"endpoint", "\"http://10.1.2.3:9000\"", "", "plain http to a remote host is refused"},
             {"region", "\"\""},
             {"region", "\"kr/standard\""},
             {"bucket", "\"ab\""},
             {"bucket", "\"" + std::string(64, 'b') + "\""},
             {"bucket", "\"DB-Backups\"", "", "lower-case letters"},
             {"bucket", "\"-backups\""},
             {"bucket", "\"db..backups\""},
             {"bucket", "\"192.168.1.1\""},
             {"bucket", "\"xn--backups\""},
             {"bucket", "\"backups-s3alias\""},
             {"bucket", "\"my.backups\"", "addressing = \"virtual\"", "breaks TLS with virtual addressing"},
             {"access_key", "\"\""},
             {"secret_key", "\"\""},
             {"access_key", "\"AK\"", "", "is set without secret_key"},
             {"secret_key", "\"SK\"", "", "is set without access_key"},
             {"session_token", "\"T\"", "", "needs access_key and secret_key"},
             {"session_token", "\"\"", "access_key = \"AK\"\nsecret_key = \"SK\""},
             {"profile", "\"\""},
             {"profile", "\"" + std::string(129, 'p') + "\""},
             {"profile", "\"my profile\"", "", "must be a profile name"},
             {"profile", "\"ncloud\"", "access_key = \"AK\"\nsecret_key = \"SK\"", "cannot be used with access_key"},
             {"part_size", "\"1MiB\""},
             {"part_size", "\"6GiB\""},
             {"concurrency", "0"},
             {"concurrency", "65"},
             {"storage_class", "\"\""},
             {"storage_class", "\"standard\"", "", "upper-case letters"},
             {"metadata", "{ \"bad name\" = \"x\" }", "", "not a valid header name"},
             {"ca_file", "\"\""},
             {"connect_timeout", "\"0s\""},
             {"max_retries", "-1"},
             {"max_retries", "101"},
             {"list_page_size", "0"},
             {"list_page_size", "1001"},
         }});
}

}  // namespace
