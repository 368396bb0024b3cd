// Memory for secret values that is wiped (OPENSSL_cleanse) before it goes back to the heap. SecretString is a string
// whose every buffer, including the ones it drops when it grows, is wiped on release; use it for response bodies and
// parsed secret values so that no copy outlives its use. A string short enough to live inside the object itself (no
// allocation) is not seen by the allocator: objects that hold secrets also wipe() their strings when destroyed. Plain
// std::string copies are wiped with wipe(). The core wipes its secret values with it; plugins reach it as
// <backhaul/support/crypto/secure_memory.hpp>.
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <memory>
#include <string>

namespace backhaul::common {

template <class T>
struct WipingAllocator {
    using value_type = T;
    WipingAllocator() noexcept = default;
    template <class U>
    WipingAllocator(const WipingAllocator<U>&) noexcept {}

    T* allocate(std::size_t count) { return std::allocator<T>().allocate(count); }
    void deallocate(T* pointer, std::size_t count) noexcept {
        OPENSSL_cleanse(pointer, count * sizeof(T));
        std::allocator<T>().deallocate(pointer, count);
    }
    template <class U>
    bool operator==(const WipingAllocator<U>&) const noexcept {
        return true;
    }
};

using SecretString = std::basic_string<char, std::char_traits<char>, WipingAllocator<char>>;

// Overwrites the whole buffer (capacity, not just size: data()[0..capacity()] still holds bytes of earlier, longer
// contents) and empties the string. OPENSSL_cleanse is a memset the optimizer must keep.
template <class String>
void wipe(String& text) noexcept {
    text.resize(text.capacity());
    OPENSSL_cleanse(text.data(), text.size());
    text.clear();
}

}  // namespace backhaul::common
