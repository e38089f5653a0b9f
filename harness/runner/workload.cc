#include "runner/workload.h"

#include "runner/http_client.h"

#include <algorithm>

namespace chaos::runner {

expect::RequestOutcome classify_response(int status, const std::string& served_by) {
  if (status < 200 || status >= 300) return expect::RequestOutcome::kError;
  if (served_by == "fallback" || served_by == "cache" || served_by == "last_good" ||
      served_by == "default" || served_by == "degraded")
    return expect::RequestOutcome::kFallback;
  return expect::RequestOutcome::kOk;
}

size_t pick_route(const std::vector<WorkloadRoute>& mix, uint64_t seed, uint64_t index) {
  if (mix.size() <= 1) return 0;
  uint64_t total = 0;
  for (const auto& r : mix) total += static_cast<uint64_t>(std::max(r.weight, 0));
  if (total == 0) return index % mix.size();
  // splitmix64 of (seed, index): cheap, well mixed, stateless.
  uint64_t z = seed * 0x9E3779B97F4A7C15ULL + index + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  uint64_t pick = z % total;
  for (size_t i = 0; i < mix.size(); ++i) {
    uint64_t w = static_cast<uint64_t>(std::max(mix[i].weight, 0));
    if (pick < w) return i;
    pick -= w;
  }
  return mix.size() - 1;
}

WorkloadDriver::WorkloadDriver(WorkloadConfig config, TimePoint origin)
    : config_(std::move(config)), origin_(origin) {
  if (config_.mix.empty()) config_.mix.push_back(WorkloadRoute{});
  config_.concurrency = std::clamp(config_.concurrency, 1, 256);
  if (config_.rate_rps <= 0) config_.rate_rps = 1;
}

WorkloadDriver::~WorkloadDriver() {
  stop();
  join();
}

void WorkloadDriver::start() {
  start_ = SteadyClock::instance().now();
  for (int i = 0; i < config_.concurrency; ++i) workers_.emplace_back([this] { worker(); });
}

void WorkloadDriver::stop() { stop_ = true; }

void WorkloadDriver::join() {
  for (auto& t : workers_)
    if (t.joinable()) t.join();
}

std::vector<expect::RequestSample> WorkloadDriver::samples() {
  std::lock_guard<std::mutex> lock(mu_);
  auto out = samples_;
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.t_ms < b.t_ms; });
  return out;
}

void WorkloadDriver::worker() {
  HttpClient client(config_.host, config_.port, config_.timeout);
  const auto end = start_ + config_.duration;
  const auto interval = std::chrono::duration<double>(1.0 / config_.rate_rps);
  while (!stop_.load()) {
    uint64_t i = next_.fetch_add(1);
    if (i >= config_.max_requests) break;
    auto due = start_ + std::chrono::duration_cast<Duration>(interval * static_cast<double>(i));
    if (due >= end) break;
    // Behind schedule (a slow target), the open-loop schedule would keep sending past the end:
    // the duration bounds the run in time whatever the schedule says.
    if (SteadyClock::instance().now() >= end) break;
    // Sleep towards the due time in short steps so stop() is honoured promptly.
    while (!stop_.load()) {
      auto now = SteadyClock::instance().now();
      if (now >= due) break;
      std::this_thread::sleep_for(std::min<Duration>(due - now, std::chrono::milliseconds(20)));
    }
    if (stop_.load()) break;
    const auto& route = config_.mix[pick_route(config_.mix, config_.seed, i)];
    auto sent_at = SteadyClock::instance().now();
    auto resp = client.request(route.method, route.path, route.body);
    auto done = SteadyClock::instance().now();
    sent_.fetch_add(1);
    expect::RequestSample s;
    s.t_ms = to_ms(sent_at - origin_);
    s.latency_ms = to_ms(done - sent_at);
    s.status = resp.status;
    s.route = route.method + " " + route.path;
    auto it = resp.headers.find("x-served-by");
    s.outcome = classify_response(resp.status, it == resp.headers.end() ? "" : it->second);
    std::lock_guard<std::mutex> lock(mu_);
    samples_.push_back(std::move(s));
  }
  finished_workers_.fetch_add(1);
}

}  // namespace chaos::runner
