// sink-local under the sink contract (sdk/testkit): each test gets a directory of its own, and the kit's independent
// view of it is the filesystem itself.
#include <backhaul/testkit/process.hpp>
#include <backhaul/testkit/targets.hpp>
#include <filesystem>

namespace {

namespace fs = std::filesystem;
using backhaul::testkit::StoredObject;

class LocalSinkTarget : public backhaul::testkit::SinkTarget {
  public:
    std::string plugin() const override { return "sink-local"; }
    backhaul::testkit::SinkArea prepare(const std::string& test_id) override {
        fs::create_directories(area(test_id));
        backhaul::testkit::SinkArea prepared;
        prepared.options = "path = \"" + area(test_id).string() + "\"\n";
        return prepared;
    }
    std::vector<StoredObject> stored_objects(const std::string& test_id) override {
        std::vector<StoredObject> out;
        for (const std::string& file : backhaul::testkit::files_below(area(test_id)))
            out.push_back({file, fs::file_size(area(test_id) / file)});
        return out;
    }
    std::string read_object(const std::string& test_id, const std::string& key) override {
        return backhaul::testkit::read_file(area(test_id) / key);
    }
    void place_object(const std::string& test_id, const std::string& key, const std::string& bytes) override {
        backhaul::testkit::write_file(area(test_id) / key, bytes);
    }

  private:
    fs::path area(const std::string& test_id) const { return root_.path() / test_id; }
    backhaul::testkit::TempDir root_;
};

}  // namespace

BACKHAUL_TESTKIT_SINK(LocalSinkTarget)
