#pragma once
// A 64-byte aligned, non-copyable array of trivially copyable values.
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include "fastmlp/types.hpp"

namespace fastmlp {

template <typename T>
class AlignedBuffer {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  static constexpr std::size_t kAlignment = 64;  // a cache line, and one zmm register

  AlignedBuffer() = default;
  explicit AlignedBuffer(index_t n) { reset(n); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    return *this;
  }
  ~AlignedBuffer() { std::free(data_); }

  // Re-allocates to exactly n zero-filled elements (contents are not preserved).
  void reset(index_t n) {
    std::free(data_);
    data_ = nullptr;
    size_ = 0;
    if (n <= 0) return;
    std::size_t bytes = static_cast<std::size_t>(n) * sizeof(T);
    bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    data_ = static_cast<T*>(std::aligned_alloc(kAlignment, bytes));
    if (!data_) throw std::bad_alloc();
    std::memset(static_cast<void*>(data_), 0, bytes);
    size_ = n;
  }
  // Grows (never shrinks) to at least n elements; contents are not preserved when it grows.
  void ensure(index_t n) {
    if (n > size_) reset(n);
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  index_t size() const { return size_; }
  T& operator[](index_t i) { return data_[i]; }
  const T& operator[](index_t i) const { return data_[i]; }

 private:
  T* data_ = nullptr;
  index_t size_ = 0;
};

}  // namespace fastmlp
