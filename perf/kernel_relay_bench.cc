// The kernel-socket baseline: a relay forwarding Geneve datagrams between two bound legs with
// recvmmsg/sendmmsg in batches of 64 (how the reference relay works), pinned to one core, fed
// by a closed-loop generator pinned to the other, over loopback. Prints forwarded Mpps.
//   dprelay-kernel-bench --sessions=1000 --payload=86 --seconds=3
#include <arpa/inet.h>
#include <gflags/gflags.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "proto/clock.h"
#include "proto/geneve.h"

DEFINE_uint32(sessions, 1000, "sessions (VNIs) in the relay's table");
DEFINE_uint32(payload, 86, "UDP payload bytes, Geneve header included");
DEFINE_double(seconds, 3.0, "measured seconds");
DEFINE_uint32(inflight, 512, "datagrams kept in the loop");
DEFINE_int32(relay_cpu, 1, "CPU the relay thread is pinned to");
DEFINE_int32(generator_cpu, 0, "CPU the generator thread is pinned to");

namespace {

constexpr int kBatch = 64;
constexpr uint16_t kRelayPort = 47000;

void Pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int UdpSocket(uint16_t port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int buf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
  timeval tv{0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    std::perror("bind");
    std::exit(1);
  }
  return fd;
}

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

struct Leg {
  uint32_t addr;
  uint16_t port;
};

// The relay: per datagram, Geneve VNI lookup, source must equal a bound leg, send the same
// bytes to the other leg. Outputs are batched with sendmmsg, as the reference does.
void Relay(int fd, const std::vector<Leg>& legs, std::atomic<bool>* stop,
           std::atomic<uint64_t>* forwarded) {
  Pin(FLAGS_relay_cpu);
  std::vector<uint8_t> bufs(kBatch * 2048);
  mmsghdr in[kBatch], out[kBatch];
  iovec iov_in[kBatch], iov_out[kBatch];
  sockaddr_in src[kBatch], dst[kBatch];
  for (int i = 0; i < kBatch; ++i) {
    iov_in[i] = {&bufs[i * 2048], 2048};
    in[i] = {};
    in[i].msg_hdr.msg_iov = &iov_in[i];
    in[i].msg_hdr.msg_iovlen = 1;
    in[i].msg_hdr.msg_name = &src[i];
    in[i].msg_hdr.msg_namelen = sizeof(src[i]);
  }
  uint64_t count = 0;
  while (!stop->load(std::memory_order_relaxed)) {
    for (int i = 0; i < kBatch; ++i) in[i].msg_hdr.msg_namelen = sizeof(src[i]);
    int n = recvmmsg(fd, in, kBatch, MSG_WAITFORONE, nullptr);
    if (n <= 0) continue;
    int m = 0;
    for (int i = 0; i < n; ++i) {
      const uint8_t* p = &bufs[i * 2048];
      if (in[i].msg_len < dprelay::kGeneveHeaderLen || dprelay::GeneveIsControl(p)) continue;
      uint32_t vni = dprelay::GeneveVni(p);
      if (vni == 0 || vni > FLAGS_sessions) continue;
      const Leg* l = &legs[vni * 2];
      int from = (src[i].sin_addr.s_addr == l[0].addr && src[i].sin_port == l[0].port)   ? 0
                 : (src[i].sin_addr.s_addr == l[1].addr && src[i].sin_port == l[1].port) ? 1
                                                                                         : -1;
      if (from < 0) continue;
      dst[m] = Loopback(0);
      dst[m].sin_addr.s_addr = l[1 - from].addr;
      dst[m].sin_port = l[1 - from].port;
      iov_out[m] = {&bufs[i * 2048], in[i].msg_len};
      out[m] = {};
      out[m].msg_hdr.msg_iov = &iov_out[m];
      out[m].msg_hdr.msg_iovlen = 1;
      out[m].msg_hdr.msg_name = &dst[m];
      out[m].msg_hdr.msg_namelen = sizeof(dst[m]);
      ++m;
    }
    int sent = 0;
    while (sent < m) {
      int r = sendmmsg(fd, out + sent, m - sent, 0);
      if (r <= 0) break;
      sent += r;
    }
    count += sent;
    forwarded->store(count, std::memory_order_relaxed);
  }
}

}  // namespace

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  // Every session's leg 0 is socket A, leg 1 socket B: the relay still looks up and matches
  // per VNI, and the generator needs only two sockets.
  int relay_fd = UdpSocket(kRelayPort);
  int a = UdpSocket(kRelayPort + 1), b = UdpSocket(kRelayPort + 2);
  std::vector<Leg> legs((FLAGS_sessions + 1) * 2);
  for (uint32_t v = 1; v <= FLAGS_sessions; ++v) {
    legs[v * 2] = {htonl(INADDR_LOOPBACK), htons(kRelayPort + 1)};
    legs[v * 2 + 1] = {htonl(INADDR_LOOPBACK), htons(kRelayPort + 2)};
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> forwarded{0};
  std::thread relay(Relay, relay_fd, std::cref(legs), &stop, &forwarded);

  Pin(FLAGS_generator_cpu);
  const sockaddr_in to_relay = Loopback(kRelayPort);
  std::vector<uint8_t> pkt(FLAGS_payload, 0);
  uint64_t rng = 88172645463325252ull;
  auto send_one = [&](int fd) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    (void)dprelay::EncodeGeneve({.protocol = dprelay::kGeneveProtocolWireGuard,
                                 .vni = 1 + static_cast<uint32_t>(rng % FLAGS_sessions)},
                                std::span<uint8_t>(pkt.data(), dprelay::kGeneveHeaderLen));
    sendto(fd, pkt.data(), pkt.size(), 0, reinterpret_cast<const sockaddr*>(&to_relay),
           sizeof(to_relay));
  };
  for (uint32_t i = 0; i < FLAGS_inflight; ++i) send_one(i % 2 ? b : a);
  // Closed loop: every datagram that comes back through the relay is answered from the
  // socket that received it, batched like the relay's own I/O.
  std::vector<uint8_t> rx(kBatch * 2048);
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  for (int i = 0; i < kBatch; ++i) {
    iov[i] = {&rx[i * 2048], 2048};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  // Answers go out with one sendmmsg per batch, so the generator costs no more per packet
  // than the relay does.
  std::vector<uint8_t> tx(kBatch * 2048);
  mmsghdr out[kBatch];
  iovec out_iov[kBatch];
  for (int i = 0; i < kBatch; ++i) {
    out_iov[i] = {&tx[i * 2048], pkt.size()};
    std::memset(&tx[i * 2048], 0, pkt.size());
    out[i] = {};
    out[i].msg_hdr.msg_iov = &out_iov[i];
    out[i].msg_hdr.msg_iovlen = 1;
    out[i].msg_hdr.msg_name = const_cast<sockaddr_in*>(&to_relay);
    out[i].msg_hdr.msg_namelen = sizeof(to_relay);
  }
  auto pump = [&](int fd) {
    int n = recvmmsg(fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
    for (int i = 0; i < n; ++i) {
      rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
      (void)dprelay::EncodeGeneve({.protocol = dprelay::kGeneveProtocolWireGuard,
                                   .vni = 1 + static_cast<uint32_t>(rng % FLAGS_sessions)},
                                  std::span<uint8_t>(&tx[i * 2048], dprelay::kGeneveHeaderLen));
    }
    for (int sent = 0; sent < n;) {
      int r = sendmmsg(fd, out + sent, n - sent, 0);
      if (r <= 0) break;
      sent += r;
    }
  };
  const uint64_t warm = dprelay::MonotonicNs() + 300'000'000;
  while (dprelay::MonotonicNs() < warm) pump(a), pump(b);
  const uint64_t f0 = forwarded.load(), t0 = dprelay::MonotonicNs();
  const uint64_t end = t0 + static_cast<uint64_t>(FLAGS_seconds * 1e9);
  uint64_t now = t0;
  while (now < end) {
    pump(a);
    pump(b);
    now = dprelay::MonotonicNs();
  }
  const uint64_t f1 = forwarded.load();
  stop.store(true);
  relay.join();
  std::printf("kernel_relay payload=%u sessions=%u mpps=%.3f\n", FLAGS_payload, FLAGS_sessions,
              double(f1 - f0) / (double(now - t0) / 1e3));
  close(relay_fd), close(a), close(b);
  return 0;
}
