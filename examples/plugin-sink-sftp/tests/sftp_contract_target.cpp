// sink-sftp under Backhaul's sink contract (the installed contract kit), against the real OpenSSH of SshServer. Each
// test gets a directory of its own below the served one, and the kit's independent view of it is the filesystem the
// server writes to: every file, the upload's temporaries included.
#include <backhaul/testkit/targets.hpp>
#include <memory>

#include "ssh_server.hpp"

namespace {

class SftpSinkTarget : public backhaul::testkit::SinkTarget {
  public:
    std::string plugin() const override { return "sink-sftp"; }
    backhaul::testkit::SinkArea prepare(const std::string& test_id) override {
        const std::filesystem::path area = server_.make_area(test_id);
        backhaul::testkit::SinkArea prepared;
        prepared.options = "host = \"" + server_.host() + "\"\nport = " + std::to_string(server_.port()) +
                           "\nuser = \"" + server_.user() + "\"\npath = \"" + area.string() + "\"\nprivate_key = \"" +
                           server_.client_key().string() + "\"\nknown_hosts = \"" + server_.known_hosts().string() +
                           "\"\ntimeout = \"30s\"\n";
        return prepared;
    }
    std::vector<backhaul::testkit::StoredObject> stored_objects(const std::string& test_id) override {
        std::vector<backhaul::testkit::StoredObject> out;
        for (const sftp_test::StoredFile& file : sftp_test::SshServer::files(area(test_id)))
            out.push_back({file.name, file.bytes.size()});
        return out;
    }
    std::string read_object(const std::string& test_id, const std::string& key) override {
        return sftp_test::read_file(area(test_id) / key);
    }
    void place_object(const std::string& test_id, const std::string& key, const std::string& bytes) override {
        server_.place(area(test_id), key, bytes);
    }
    // More than libssh2's SFTP write window and the engine's buffers, without making the suite slow.
    uint64_t large_stream_bytes() const override { return uint64_t{48} << 20; }

  private:
    std::filesystem::path area(const std::string& test_id) const { return server_.served_dir() / test_id; }
    sftp_test::SshServer server_;
};

}  // namespace

BACKHAUL_TESTKIT_SINK(SftpSinkTarget)
