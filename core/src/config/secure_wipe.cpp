#include "config/secure_wipe.hpp"

#include <string.h>  // explicit_bzero (glibc): a memset the optimizer must keep

namespace backhaul {

void secure_wipe(std::string& text) {
    // data()[0..capacity()] includes bytes of earlier, longer contents still inside the buffer.
    text.resize(text.capacity());
    explicit_bzero(text.data(), text.size());
    text.clear();
}

}  // namespace backhaul
