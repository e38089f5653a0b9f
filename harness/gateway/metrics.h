// Prometheus counters for /metrics. Most of them are fed by the event stream itself (one subscriber
// on the EventPublisher), so /metrics and the events can never disagree; request counts and the
// latency histogram are recorded by the front door.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "resilience/events.h"

namespace chaos::gateway {

class Metrics {
 public:
  // Feed every published event here.
  void on_event(const resilience::Event& e);
  void record_request(const std::string& route, int status, const std::string& served_by, double seconds);

  // Counters and the histogram, in Prometheus text exposition format (no trailing # EOF).
  std::string render() const;

  uint64_t counter(const std::string& family, const std::string& name, const std::string& label) const;

  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1.0,  2.5,   5.0};

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // family, name, label value
  mutable std::mutex mu_;
  std::map<Key, uint64_t> counters_;
  std::map<std::tuple<std::string, int, std::string>, uint64_t> requests_;  // route, status, served_by
  std::array<uint64_t, kBuckets.size()> buckets_{};
  uint64_t duration_count_ = 0;
  double duration_sum_ = 0;
};

// A label value with backslash, quote and newline escaped as Prometheus requires.
std::string prom_escape(const std::string& v);

}  // namespace chaos::gateway
