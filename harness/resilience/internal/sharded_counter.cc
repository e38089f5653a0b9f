// Shard registration and summing for ShardedCounter (see sharded_counter.h).
#include "internal/sharded_counter.h"

namespace chaos::resilience::internal {
namespace {
std::atomic<uint64_t> next_counter_id{1};
constexpr size_t kMaxShards = 64;  // a server with more threads than this shares one atomic shard
}  // namespace

ShardedCounter::ShardedCounter() : id_(next_counter_id.fetch_add(1, std::memory_order_relaxed)) {
  overflow_.shared = true;
}

ShardedCounter::~ShardedCounter() {
  for (auto& [_, shard] : shards_) delete shard;
}

ShardedCounter::Shard* ShardedCounter::register_thread() {
  std::lock_guard<std::mutex> lock(mu_);
  const std::thread::id me = std::this_thread::get_id();
  for (auto& [tid, shard] : shards_)
    if (tid == me) return shard;
  if (shards_.size() >= kMaxShards) return &overflow_;
  shards_.emplace_back(me, new Shard);
  return shards_.back().second;
}

uint64_t ShardedCounter::sum() const {
  uint64_t t = overflow_.count.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [_, shard] : shards_) t += shard->count.load(std::memory_order_relaxed);
  return t;
}

}  // namespace chaos::resilience::internal
