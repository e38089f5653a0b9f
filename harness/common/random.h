// Randomness is injected and seedable so that jitter, fault probabilities and workloads replay exactly.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <vector>
#include <initializer_list>

namespace chaos {

class Random {
 public:
  virtual ~Random() = default;
  // Uniform in [0, 1).
  virtual double uniform() = 0;
};

// A seeded Mersenne Twister behind a mutex: deterministic for a given seed and call order.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  double uniform() override {
    std::lock_guard<std::mutex> lock(mu_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine_);
  }

 private:
  std::mutex mu_;
  std::mt19937_64 engine_;
};

// Replays a fixed sequence (cycled): for tests that need exact values.
class SequenceRandom final : public Random {
 public:
  explicit SequenceRandom(std::initializer_list<double> values) : values_(values) {}
  double uniform() override {
    std::lock_guard<std::mutex> lock(mu_);
    double v = values_.empty() ? 0.0 : values_[next_ % values_.size()];
    ++next_;
    return v;
  }

 private:
  std::mutex mu_;
  std::vector<double> values_;
  size_t next_ = 0;
};

}  // namespace chaos
