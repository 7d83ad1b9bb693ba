// A pool of fixed-size records addressed by a 32-bit index, grown in chunks and never moved:
// the main lcore's per-session state. Unlike a hash map or a vector it has no growth slack
// beyond one partly used chunk, and freed records are reused before the pool grows.
//
// Concurrency: single-threaded (the main lcore owns it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace dprelay {

template <typename T, uint32_t kChunkRecords = 4096>
class RecordPool {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  static_assert((kChunkRecords & (kChunkRecords - 1)) == 0, "chunk size must be a power of 2");

  // A value-initialised record: a freed one if there is one, else the next unused one.
  uint32_t Alloc() {
    uint32_t i;
    if (!free_.empty()) {
      i = free_.back();
      free_.pop_back();
      (*this)[i] = T{};
    } else {
      i = high_water_++;
      if (i / kChunkRecords == chunks_.size()) {
        chunks_.push_back(std::make_unique<T[]>(kChunkRecords));  // value-initialised
      }
    }
    ++live_;
    return i;
  }
  // i must be a live record.
  void Free(uint32_t i) {
    free_.push_back(i);
    --live_;
  }

  T& operator[](uint32_t i) { return chunks_[i / kChunkRecords][i % kChunkRecords]; }
  const T& operator[](uint32_t i) const { return chunks_[i / kChunkRecords][i % kChunkRecords]; }

  // Records ever handed out: live ones are among 0..high_water()-1 (with the freed ones).
  uint32_t high_water() const { return high_water_; }
  size_t live() const { return live_; }
  // Heap bytes held: the chunks, the free list and the chunk directory.
  size_t MemoryBytes() const {
    return chunks_.size() * (sizeof(T) * kChunkRecords) + free_.capacity() * sizeof(uint32_t) +
           chunks_.capacity() * sizeof(chunks_[0]);
  }

 private:
  std::vector<std::unique_ptr<T[]>> chunks_;
  std::vector<uint32_t> free_;  // freed records, reused last-freed first
  uint32_t high_water_ = 0;
  size_t live_ = 0;
};

}  // namespace dprelay
