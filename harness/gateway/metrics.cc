// Counts what the event stream says, plus request latency, and renders it in Prometheus text format.
#include "gateway/metrics.h"

#include <sstream>

namespace chaos::gateway {

std::string prom_escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

namespace {
std::string str(const nlohmann::ordered_json& f, const char* key) {
  auto it = f.find(key);
  return it != f.end() && it->is_string() ? it->get<std::string>() : std::string();
}
}  // namespace

void Metrics::on_event(const resilience::Event& e) {
  std::string family, label;
  if (e.type == "retry.attempt") family = "retry", label = "attempt";
  else if (e.type == "retry.success") family = "retry", label = "success";
  else if (e.type == "retry.exhausted") family = "retry", label = "exhausted";
  else if (e.type == "retry.skipped") family = "retry", label = "skipped";
  else if (e.type == "fallback") family = "fallback", label = str(e.fields, "source");
  else if (e.type == "heal.attempt") family = "heal", label = str(e.fields, "outcome");
  else if (e.type == "heal.exhausted") family = "heal", label = "exhausted";
  else if (e.type == "timeout") family = "timeout", label = str(e.fields, "op");
  else if (e.type == "bulkhead.rejected") family = "bulkhead_rejected", label = "";
  else if (e.type == "breaker.state") family = "breaker_transition", label = str(e.fields, "to");
  else if (e.type == "degraded.shed") family = "degraded_shed", label = "";
  else return;
  std::lock_guard<std::mutex> lock(mu_);
  ++counters_[{family, e.name, label}];
}

void Metrics::record_request(const std::string& route, int status, const std::string& served_by, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status, served_by}];
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++buckets_[i];
  ++duration_count_;
  duration_sum_ += seconds;
}

uint64_t Metrics::counter(const std::string& family, const std::string& name, const std::string& label) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counters_.find({family, name, label});
  return it == counters_.end() ? 0 : it->second;
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream os;
  struct Family {
    const char* key;
    const char* metric;
    const char* label;  // second label's name, or nullptr
    const char* help;
  };
  static const Family kFamilies[] = {
      {"retry", "gateway_retry_events_total", "kind", "Retry events by kind (attempt, success, exhausted, skipped)."},
      {"fallback", "gateway_fallback_total", "source", "Answers served by a fallback, by source."},
      {"heal", "gateway_heal_attempts_total", "outcome", "Auto-heal attempts by outcome (exhausted: episodes given up)."},
      {"timeout", "gateway_timeouts_total", "op", "Operations that hit a timeout, by the limit that fired."},
      {"bulkhead_rejected", "gateway_bulkhead_rejected_total", nullptr, "Calls rejected by a full bulkhead."},
      {"breaker_transition", "gateway_breaker_transitions_total", "to", "Circuit breaker transitions by target state."},
      {"degraded_shed", "gateway_degraded_shed_total", nullptr, "Calls shed by degraded mode, straight to the fallback."},
  };
  for (const auto& f : kFamilies) {
    os << "# HELP " << f.metric << ' ' << f.help << "\n# TYPE " << f.metric << " counter\n";
    for (const auto& [k, v] : counters_) {
      if (std::get<0>(k) != f.key) continue;
      os << f.metric << "{name=\"" << prom_escape(std::get<1>(k)) << '"';
      if (f.label) os << ',' << f.label << "=\"" << prom_escape(std::get<2>(k)) << '"';
      os << "} " << v << '\n';
    }
  }
  os << "# HELP gateway_requests_total Requests answered, by route, HTTP status and who served them.\n"
     << "# TYPE gateway_requests_total counter\n";
  for (const auto& [k, v] : requests_) {
    os << "gateway_requests_total{route=\"" << prom_escape(std::get<0>(k)) << "\",code=\"" << std::get<1>(k)
       << "\",served_by=\"" << prom_escape(std::get<2>(k)) << "\"} " << v << '\n';
  }
  os << "# HELP gateway_request_duration_seconds Request latency.\n"
     << "# TYPE gateway_request_duration_seconds histogram\n";
  for (size_t i = 0; i < kBuckets.size(); ++i)
    os << "gateway_request_duration_seconds_bucket{le=\"" << kBuckets[i] << "\"} " << buckets_[i] << '\n';
  os << "gateway_request_duration_seconds_bucket{le=\"+Inf\"} " << duration_count_ << '\n'
     << "gateway_request_duration_seconds_sum " << duration_sum_ << '\n'
     << "gateway_request_duration_seconds_count " << duration_count_ << '\n';
  return os.str();
}

}  // namespace chaos::gateway
