// compress-gzip under the transform contract (sdk/testkit), at its default settings and with several threads (the
// parallel encoder writes one gzip member too); gunzip is the independent decoder.
#include <backhaul/testkit/targets.hpp>

namespace {

class GzipTarget : public backhaul::testkit::TransformTarget {
  public:
    std::string plugin() const override { return "compress-gzip"; }
    backhaul::testkit::TransformSetup prepare(const std::filesystem::path&) override {
        backhaul::testkit::TransformSetup setup;
        setup.options = "threads = 2\n";
        setup.independent_decoder = {"gunzip", "-c"};
        return setup;
    }
};

}  // namespace

BACKHAUL_TESTKIT_TRANSFORM(GzipTarget)
