// Events are how everything outside a pattern learns what it did: the harness judges a scenario on
// them, so every state change, call outcome, retry, health result, heal attempt and checkpoint goes
// through one EventPublisher and serialises to exactly the JSON lines documented in docs/EVENTS.md.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"

namespace chaos::resilience {

// Insertion-ordered so that lines read `{"type":...,"ts_us":...,"name":...,...}`.
using EventFields = nlohmann::ordered_json;

struct Event {
  std::string type;    // e.g. "breaker.state"; see docs/EVENTS.md
  int64_t ts_us = 0;   // injected clock, microseconds (CLOCK_MONOTONIC for the real clock)
  std::string name;    // the guarded dependency / instance; empty for system-wide events
  EventFields fields = EventFields::object();  // type-specific fields, in documented order
};

// One JSON object, no trailing newline: type, ts_us, [service], name, then the fields.
std::string to_json_line(const Event& e, const std::string& service = "");

class EventPublisher {
 public:
  using Subscriber = std::function<void(const Event&)>;
  using SubscriptionId = uint64_t;

  // `service`, when not empty, is added to every serialised line by the sinks created from it.
  explicit EventPublisher(const Clock& clock, std::string service = "");

  SubscriptionId subscribe(Subscriber s);
  void unsubscribe(SubscriptionId id);

  // True when someone listens: patterns test this before building an event so that an unobserved
  // hot path pays one relaxed load and nothing else.
  bool active() const { return active_.load(std::memory_order_relaxed); }

  // Stamps ts_us from the clock and delivers synchronously, in subscription order, on the calling
  // thread. Subscribers must be quick and must not throw (exceptions are swallowed to protect the
  // guarded call).
  void publish(std::string type, std::string name, EventFields fields);
  void publish(Event e);

  const Clock& clock() const { return clock_; }
  const std::string& service() const { return service_; }

 private:
  struct Entry {
    SubscriptionId id;
    Subscriber fn;
  };
  const Clock& clock_;
  std::string service_;
  std::atomic<bool> active_{false};
  mutable std::mutex mu_;
  // Copy-on-write so that publishing never holds the lock while subscribers run.
  std::shared_ptr<const std::vector<Entry>> subs_ = std::make_shared<std::vector<Entry>>();
  SubscriptionId next_id_ = 1;
};

// Writes one JSON line per event to a FILE* (e.g. stdout) and flushes it, or to a file descriptor
// with one write(2) per line, from any thread: lines from concurrent publishers never interleave. Does
// not own the FILE* / descriptor. Write errors are ignored (an observer must not fail the service).
class JsonLinesSink {
 public:
  explicit JsonLinesSink(std::FILE* out, std::string service = "");
  explicit JsonLinesSink(int fd, std::string service = "");
  void operator()(const Event& e);
  // Convenience: subscribe a sink that lives as long as the subscription (shared ownership).
  static EventPublisher::SubscriptionId attach(EventPublisher& pub, std::FILE* out);

 private:
  std::FILE* out_ = nullptr;
  int fd_ = -1;
  std::string service_;
  std::mutex mu_;
};

// Collects events in memory; for tests and for the harness's own in-process checks.
class EventRecorder {
 public:
  void operator()(const Event& e);
  std::vector<Event> events() const;
  std::vector<Event> of_type(const std::string& type) const;
  size_t count(const std::string& type) const;
  void clear();

 private:
  mutable std::mutex mu_;
  std::vector<Event> events_;
};

}  // namespace chaos::resilience
