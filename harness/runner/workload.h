// Drives load at the system under test: an open-loop schedule (request i is due at start + i/rate,
// whatever happened to earlier ones), so a slow or failing SUT cannot quietly lower the load it is
// judged under. Bounded by a request count, a duration and an external stop flag.
#pragma once

#include "common/clock.h"
#include "expect/timeline.h"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace chaos::runner {

struct WorkloadRoute {
  std::string method = "GET";
  std::string path = "/";
  std::string body;
  int weight = 1;
};

struct WorkloadConfig {
  std::string host = "127.0.0.1";
  int port = 0;
  double rate_rps = 50;
  int concurrency = 4;
  Duration duration = std::chrono::seconds(5);
  size_t max_requests = 10000;
  std::chrono::milliseconds timeout{1000};
  std::vector<WorkloadRoute> mix;
  uint64_t seed = 1;
};

// How a response counts: 2xx is ok unless the SUT says a fallback served it (header
// `X-Served-By: fallback|cache|last_good|default|degraded`); anything else is an error.
expect::RequestOutcome classify_response(int status, const std::string& served_by);

// Which route request `index` uses: a pure function of seed and index, so a run replays exactly.
size_t pick_route(const std::vector<WorkloadRoute>& mix, uint64_t seed, uint64_t index);

class WorkloadDriver {
 public:
  // `origin` is the scenario's t=0: samples carry times relative to it.
  WorkloadDriver(WorkloadConfig config, TimePoint origin);
  ~WorkloadDriver();

  void start();
  void stop();   // asks workers to finish their current request; returns at once
  void join();   // waits for workers (each request is bounded by its timeout)
  bool finished() const { return finished_workers_.load() == static_cast<int>(workers_.size()); }
  std::vector<expect::RequestSample> samples();
  size_t sent() const { return sent_.load(); }

 private:
  void worker();
  WorkloadConfig config_;
  TimePoint origin_;
  TimePoint start_;
  std::atomic<uint64_t> next_{0};
  std::atomic<size_t> sent_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> finished_workers_{0};
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::vector<expect::RequestSample> samples_;
};

}  // namespace chaos::runner
