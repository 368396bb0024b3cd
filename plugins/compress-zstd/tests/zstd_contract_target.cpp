// compress-zstd under the transform contract (sdk/testkit); the zstd CLI is the independent decoder.
#include <backhaul/testkit/targets.hpp>

namespace {

class ZstdTarget : public backhaul::testkit::TransformTarget {
  public:
    std::string plugin() const override { return "compress-zstd"; }
    backhaul::testkit::TransformSetup prepare(const std::filesystem::path&) override {
        backhaul::testkit::TransformSetup setup;
        setup.independent_decoder = {"zstd", "-d", "-c", "-q"};
        return setup;
    }
};

}  // namespace

BACKHAUL_TESTKIT_TRANSFORM(ZstdTarget)
