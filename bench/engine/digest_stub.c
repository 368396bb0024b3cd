/* Measurement only (bench/engine/run.sh): preloaded into `backhaul`, it turns EVP_DigestUpdate into a no-op, so the
 * engine's own cost can be told apart from the SHA-256 the core computes over the stored bytes for the manifest. The
 * run still commits; its manifest's checksum is simply wrong. Never used outside this benchmark. */
#include <stddef.h>

int EVP_DigestUpdate(void* ctx, const void* data, size_t count) {
    (void)ctx;
    (void)data;
    (void)count;
    return 1;
}
