// sink-ncloud-s3 under the sink contract (sdk/testkit), against OpenStack Swift's s3api (tests/support/s3_fixture.hpp)
// with the AWS CLI as the independent client. Each test has its own prefix of one bucket; what the test stored
// includes multipart uploads still pending there, so an abandoned upload counts as something left behind.
#include <backhaul/testkit/targets.hpp>
#include <sstream>

#include "s3_fixture.hpp"

namespace {

using backhaul::testing::SwiftS3;
using backhaul::testkit::StoredObject;

const char* const kBucket = "kit-contract";

class S3SinkTarget : public backhaul::testkit::SinkTarget {
  public:
    S3SinkTarget() { SwiftS3::instance().create_bucket(kBucket); }

    std::string plugin() const override { return "sink-ncloud-s3"; }
    backhaul::testkit::SinkArea prepare(const std::string& test_id) override {
        backhaul::testkit::SinkArea area;
        area.options = "endpoint = \"" + SwiftS3::instance().endpoint() + "\"\nregion = \"" + SwiftS3::region +
                       "\"\nbucket = \"" + kBucket +
                       "\"\naccess_key = \"${env:KIT_S3_ACCESS_KEY}\"\nsecret_key = \"${env:KIT_S3_SECRET_KEY}\"\n"
                       "part_size = \"5MiB\"\n";
        area.key_prefix = test_id + "/";
        area.environment = {{"KIT_S3_ACCESS_KEY", SwiftS3::admin.access_key},
                            {"KIT_S3_SECRET_KEY", SwiftS3::admin.secret_key}};
        return area;
    }
    std::vector<StoredObject> stored_objects(const std::string& test_id) override {
        std::vector<StoredObject> out;
        const std::string prefix = test_id + "/";
        backhaul::testkit::CommandResult listed =
            SwiftS3::instance().aws({"s3api", "list-objects-v2", "--bucket", kBucket, "--prefix", prefix, "--query",
                                     "Contents[].[Key,Size]", "--output", "text"});
        if (listed.exit_code != 0) throw std::runtime_error("list-objects-v2 failed: " + listed.err);
        std::istringstream lines(listed.out);
        for (std::string key; lines >> key;) {
            if (key == "None") break;
            uint64_t size = 0;
            lines >> size;
            out.push_back({key, size});
        }
        std::istringstream pending(SwiftS3::instance().pending_uploads(kBucket, prefix));
        for (std::string id; pending >> id;) out.push_back({"(pending multipart upload " + id + ")", 0});
        return out;
    }
    std::string read_object(const std::string&, const std::string& key) override {
        return SwiftS3::instance().download(kBucket, key);
    }
    void place_object(const std::string&, const std::string& key, const std::string& bytes) override {
        SwiftS3::instance().upload(kBucket, key, bytes);
    }
    // More than concurrency (4) x part_size (5 MiB) in flight.
    uint64_t large_stream_bytes() const override { return uint64_t{40} << 20; }
};

}  // namespace

BACKHAUL_TESTKIT_SINK(S3SinkTarget)
