// Bounds-checked big-endian byte writer and reader for wire formats (disco, IPC).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace dprelay {

inline void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void StoreBe32(uint8_t* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
inline void StoreBe64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
inline uint16_t LoadBe16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t LoadBe32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint64_t LoadBe64(const uint8_t* p) { return uint64_t{LoadBe32(p)} << 32 | LoadBe32(p + 4); }

// Appends to a growable buffer. Control path only (allocates).
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(v); }
  void U16(uint16_t v) {
    Grow(2, [&](uint8_t* p) { StoreBe16(p, v); });
  }
  void U32(uint32_t v) {
    Grow(4, [&](uint8_t* p) { StoreBe32(p, v); });
  }
  void U64(uint64_t v) {
    Grow(8, [&](uint8_t* p) { StoreBe64(p, v); });
  }
  void Bytes(std::span<const uint8_t> b) { out_->insert(out_->end(), b.begin(), b.end()); }
  void Zeros(size_t n) { out_->insert(out_->end(), n, 0); }

 private:
  template <typename F>
  void Grow(size_t n, F&& f) {
    size_t at = out_->size();
    out_->resize(at + n);
    f(out_->data() + at);
  }
  std::vector<uint8_t>* out_;
};

// Reads from a span; every read reports failure instead of reading past the end.
class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> in) : in_(in) {}
  size_t remaining() const { return in_.size() - pos_; }
  std::span<const uint8_t> rest() const { return in_.subspan(pos_); }
  bool U8(uint8_t* v) {
    return Take(1, [&](const uint8_t* p) { *v = p[0]; });
  }
  bool U16(uint16_t* v) {
    return Take(2, [&](const uint8_t* p) { *v = LoadBe16(p); });
  }
  bool U32(uint32_t* v) {
    return Take(4, [&](const uint8_t* p) { *v = LoadBe32(p); });
  }
  bool U64(uint64_t* v) {
    return Take(8, [&](const uint8_t* p) { *v = LoadBe64(p); });
  }
  bool Bytes(std::span<uint8_t> out) {
    return Take(out.size(), [&](const uint8_t* p) { std::memcpy(out.data(), p, out.size()); });
  }
  bool Skip(size_t n) {
    return Take(n, [](const uint8_t*) {});
  }

 private:
  template <typename F>
  bool Take(size_t n, F&& f) {
    if (remaining() < n) return false;
    f(in_.data() + pos_);
    pos_ += n;
    return true;
  }
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

}  // namespace dprelay
