#include "dataplane/session_table.h"

#include <rte_malloc.h>

#include <new>

#include "absl/base/internal/raw_logging.h"

namespace dprelay {

namespace {

// rte_zmalloc when EAL runs (hugepage-backed, NUMA-local); plain aligned new otherwise
// (unit tests without EAL).
void* AllocTable(const char* name, size_t bytes, size_t align, bool* from_heap) {
  void* mem = rte_zmalloc(name, bytes, align);
  if (mem == nullptr) {
    mem = ::operator new (bytes, std::align_val_t{align});
    *from_heap = true;
  }
  return mem;
}

void FreeTable(void* mem, size_t align, bool from_heap) {
  if (from_heap) {
    ::operator delete (mem, std::align_val_t{align});
  } else {
    rte_free(mem);
  }
}

}  // namespace

SessionTable::SessionTable(uint32_t capacity, uint32_t n_lcores, bool ipv6)
    : capacity_(capacity), n_lcores_(n_lcores) {
  slots_ = static_cast<SessionSlot*>(AllocTable("dprelay_sessions",
                                                sizeof(SessionSlot) * (size_t{capacity} + 1),
                                                alignof(SessionSlot), &from_heap_));
  if (ipv6) {
    const size_t n = (size_t{capacity} + 1) * 2;
    v6_legs_ = static_cast<LegFwd6*>(
        AllocTable("dprelay_v6_legs", sizeof(LegFwd6) * n, alignof(LegFwd6), &v6_from_heap_));
    for (size_t i = 0; i < n; ++i) {
      new (&v6_legs_[i]) LegFwd6();
    }
  }
  for (uint32_t v = 0; v <= capacity; ++v) {
    new (&slots_[v]) SessionSlot();
    rte_seqcount_init(&slots_[v].seq);
  }
  stats_ = std::make_unique<std::unique_ptr<LegStats[]>[]>(n_lcores);
  for (uint32_t l = 0; l < n_lcores; ++l) {
    stats_[l] = std::make_unique<LegStats[]>((size_t{capacity} + 1) * 2);
  }
}

SessionTable::~SessionTable() {
  FreeTable(slots_, alignof(SessionSlot), from_heap_);
  if (v6_legs_ != nullptr) {
    FreeTable(v6_legs_, alignof(LegFwd6), v6_from_heap_);
  }
}

void SessionTable::WriteLeg(SessionSlot& s, uint32_t vni, int leg, const LegFwd& fwd,
                            const LegFwd6* v6) {
  if (fwd.bound == kLegV6) {
    ABSL_RAW_CHECK(v6 != nullptr && v6_legs_ != nullptr, "IPv6 leg without its record");
    v6_legs_[size_t{vni} * 2 + leg] = *v6;
  }
  s.leg[leg] = fwd;
}

void SessionTable::Publish(uint32_t vni, bool live, const LegFwd& leg0, const LegFwd& leg1,
                           const LegFwd6* v6_0, const LegFwd6* v6_1) {
  ABSL_RAW_CHECK(vni >= 1 && vni <= capacity_, "VNI out of table range");
  SessionSlot& s = slots_[vni];
  rte_seqcount_write_begin(&s.seq);
  s.live = live ? 1 : 0;
  WriteLeg(s, vni, 0, leg0, v6_0);
  WriteLeg(s, vni, 1, leg1, v6_1);
  rte_seqcount_write_end(&s.seq);
}

void SessionTable::PublishLeg(uint32_t vni, int leg, const LegFwd& fwd, const LegFwd6* v6) {
  SessionSlot& s = slots_[vni];
  rte_seqcount_write_begin(&s.seq);
  WriteLeg(s, vni, leg, fwd, v6);
  rte_seqcount_write_end(&s.seq);
}

void SessionTable::Clear(uint32_t vni) { Publish(vni, false, LegFwd{}, LegFwd{}); }

void SessionTable::ReadLegStats(uint32_t vni, int leg, uint64_t* packets, uint64_t* bytes) const {
  uint64_t p = 0, b = 0;
  size_t idx = size_t{vni} * 2 + leg;
  for (uint32_t l = 0; l < n_lcores_; ++l) {
    const LegStats& st = stats_[l][idx];
    p += st.packets.load(std::memory_order_relaxed);
    b += st.bytes.load(std::memory_order_relaxed);
  }
  *packets = p;
  *bytes = b;
}

void SessionTable::ResetLegStats(uint32_t vni) {
  // Only safe while the slot is not live: no worker forwards for it, so no one writes these.
  for (uint32_t l = 0; l < n_lcores_; ++l) {
    for (int leg = 0; leg < 2; ++leg) {
      LegStats& st = stats_[l][size_t{vni} * 2 + leg];
      st.packets.store(0, std::memory_order_relaxed);
      st.bytes.store(0, std::memory_order_relaxed);
    }
  }
}

size_t SessionTable::BytesPerVni() const {
  return sizeof(SessionSlot) + size_t{n_lcores_} * 2 * sizeof(LegStats) +
         (ipv6() ? 2 * sizeof(LegFwd6) : 0);
}

}  // namespace dprelay
