// A strict local S3 server for tests: OpenStack Swift with s3api (tests/support/swift_s3_server.py), started once per
// test binary on first use (about 5 s) and stopped when the binary exits, plus the AWS CLI as the independent client
// that checks what Backhaul stored. Header-only.
//
//   backhaul::testing::SwiftS3& s3 = backhaul::testing::SwiftS3::instance();
//   s3.create_bucket("backups");
//   CommandResult cp = s3.aws({"s3", "cp", "s3://backups/key", "out.bin"});
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "command_runner.hpp"
#include "helper_server.hpp"

namespace backhaul::testing {

struct S3User {
    std::string access_key;
    std::string secret_key;
};

class SwiftS3 {
  public:
    // tempauth users the server is configured with; the access key contains ':' as Swift's always do.
    static inline const S3User admin{"test:tester", "testing"};
    // Not an admin: writes are AccessDenied everywhere, and so is everything else except in a public-read bucket.
    static inline const S3User reader{"test:reader", "reading"};
    static constexpr const char* region = "us-east-1";

    // The shared server, started on first call. Throws if it cannot start (Swift not installed, ...).
    static SwiftS3& instance() {
        static std::unique_ptr<SwiftS3> server(new SwiftS3());
        return *server;
    }

    SwiftS3(const SwiftS3&) = delete;
    SwiftS3& operator=(const SwiftS3&) = delete;

    int port() const { return server_.port(); }
    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port()); }
    const std::filesystem::path& directory() const { return dir_.path(); }

    // Runs the AWS CLI against this server as `user`, isolated from any configuration of the machine's user.
    CommandResult aws(std::vector<std::string> args, const S3User& user = admin,
                      const std::map<std::string, std::string>& extra_env = {}) const {
        args.insert(args.begin(), {aws_cli(), "--endpoint-url", endpoint(), "--no-cli-pager"});
        CommandOptions options;
        options.env = {{"AWS_ACCESS_KEY_ID", user.access_key},
                       {"AWS_SECRET_ACCESS_KEY", user.secret_key},
                       {"AWS_DEFAULT_REGION", region},
                       {"AWS_CONFIG_FILE", (dir_.path() / "aws-config").string()},
                       {"AWS_SHARED_CREDENTIALS_FILE", (dir_.path() / "aws-credentials").string()},
                       {"AWS_EC2_METADATA_DISABLED", "true"}};
        for (const auto& [k, v] : extra_env) options.env[k] = v;
        return run_command(args, options);
    }

    // `acl` "public-read" makes a bucket every user may list and read (Swift's X-Container-Read: .r:*,.rlistings)
    // but only the admin may write: where `reader` is a key that may read and not write.
    void create_bucket(const std::string& bucket, const std::string& acl = "") const {
        std::vector<std::string> args = {"s3api", "create-bucket", "--bucket", bucket};
        if (!acl.empty()) args.insert(args.end(), {"--acl", acl});
        CommandResult made = aws(args);
        if (made.exit_code != 0 && made.err.find("BucketAlreadyOwnedByYou") == std::string::npos)
            throw std::runtime_error("cannot create bucket " + bucket + ": " + made.err);
    }

    // The object's bytes as the AWS CLI downloads them; throws if the download fails.
    std::string download(const std::string& bucket, const std::string& key) const {
        std::filesystem::path file = dir_.path() / ("download-" + std::to_string(++downloads_));
        CommandResult got = aws({"s3api", "get-object", "--bucket", bucket, "--key", key, file.string()});
        if (got.exit_code != 0) throw std::runtime_error("aws s3api get-object " + key + " failed: " + got.err);
        std::string data = read_file(file);
        std::filesystem::remove(file);
        return data;
    }

    // Stores `data` under `key` with the AWS CLI (one PutObject, whatever is there); throws if the upload fails.
    void upload(const std::string& bucket, const std::string& key, const std::string& data) const {
        std::filesystem::path file = dir_.path() / ("upload-" + std::to_string(++downloads_));
        write_file(file, data);
        CommandResult put = aws({"s3api", "put-object", "--bucket", bucket, "--key", key, "--body", file.string()});
        std::filesystem::remove(file);
        if (put.exit_code != 0) throw std::runtime_error("aws s3api put-object " + key + " failed: " + put.err);
    }

    bool exists(const std::string& bucket, const std::string& key) const {
        return aws({"s3api", "head-object", "--bucket", bucket, "--key", key}).exit_code == 0;
    }

    // Upload ids of multipart uploads still pending in `bucket` under `prefix` ("" when there are none).
    std::string pending_uploads(const std::string& bucket, const std::string& prefix = "") const {
        CommandResult listed = aws({"s3api", "list-multipart-uploads", "--bucket", bucket, "--prefix", prefix,
                                    "--query", "Uploads[].UploadId", "--output", "text"});
        if (listed.exit_code != 0) throw std::runtime_error("list-multipart-uploads failed: " + listed.err);
        std::string ids = listed.out;
        while (!ids.empty() && (ids.back() == '\n' || ids.back() == ' ')) ids.pop_back();
        return ids == "None" ? "" : ids;
    }

    // The AWS CLI to use: Debian's (scripts/bootstrap installs it) before whatever else is on PATH.
    static std::string aws_cli() { return std::filesystem::exists("/usr/bin/aws") ? "/usr/bin/aws" : "aws"; }

  private:
    SwiftS3()
        : server_("Swift S3 server",
                  // Debian's python3 has the swift modules; another python3 earlier on PATH may not.
                  {"/usr/bin/python3", BACKHAUL_SOURCE_DIR "/tests/support/swift_s3_server.py",
                   (dir_.path() / "swift").string()},
                  std::chrono::seconds(300), " (logs in " + (dir_.path() / "swift").string() + ")") {}

    TempDir dir_;  // before server_: the server lives in it
    HelperServer server_;
    mutable int downloads_ = 0;  // numbers the CLI's temp files
};

}  // namespace backhaul::testing
