#pragma once

// PackedStrings holds N short strings in one heap block, for records kept by the million: six
// ids cost one allocation and 24 bytes of header instead of six std::strings (192 bytes, plus a
// heap block for each longer than 15 characters).
//
//   PackedStrings<3> ids({user_id, merchant_id, device_id});
//   absl::string_view merchant = ids[1];
//
// Each string must be shorter than 64 KiB in all. Copyable (deeply) and movable.

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/base/macros.h"
#include "absl/strings/string_view.h"

namespace vigil {

template <int N>
class PackedStrings {
 public:
  PackedStrings() = default;
  explicit PackedStrings(const std::array<absl::string_view, N>& values) {
    size_t total = 0;
    for (int i = 0; i < N; ++i) {
      total += values[i].size();
      ABSL_ASSERT(total <= UINT16_MAX);
      ends_[i] = static_cast<uint16_t>(total);
    }
    if (total == 0) return;
    data_ = std::make_unique<char[]>(total);
    for (int i = 0; i < N; ++i) {
      // An empty string_view may have no data at all, which memcpy must not be given.
      if (!values[i].empty()) {
        std::memcpy(data_.get() + begin(i), values[i].data(), values[i].size());
      }
    }
  }
  PackedStrings(const PackedStrings& other) : ends_(other.ends_) {
    if (other.data_ == nullptr) return;
    data_ = std::make_unique<char[]>(ends_[N - 1]);
    std::memcpy(data_.get(), other.data_.get(), ends_[N - 1]);
  }
  PackedStrings& operator=(const PackedStrings& other) {
    if (this != &other) *this = PackedStrings(other);
    return *this;
  }
  PackedStrings(PackedStrings&&) noexcept = default;
  PackedStrings& operator=(PackedStrings&&) noexcept = default;

  absl::string_view operator[](int i) const {
    return data_ == nullptr ? absl::string_view()
                            : absl::string_view(data_.get() + begin(i), ends_[i] - begin(i));
  }

 private:
  size_t begin(int i) const { return i == 0 ? 0 : ends_[i - 1]; }

  std::unique_ptr<char[]> data_;
  std::array<uint16_t, N> ends_{};
};

}  // namespace vigil
