// Event serialisation, fan-out to subscribers, and the JSON-lines sinks (see events.h).
#include "events.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace chaos::resilience {

std::string to_json_line(const Event& e, const std::string& service) {
  EventFields j = EventFields::object();
  j["type"] = e.type;
  j["ts_us"] = e.ts_us;
  if (!service.empty()) j["service"] = service;
  if (!e.name.empty()) j["name"] = e.name;
  for (auto it = e.fields.begin(); it != e.fields.end(); ++it) j[it.key()] = it.value();
  // Replacement keeps a line valid JSON even when an error message carries invalid UTF-8.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

EventPublisher::EventPublisher(const Clock& clock, std::string service)
    : clock_(clock), service_(std::move(service)) {}

EventPublisher::SubscriptionId EventPublisher::subscribe(Subscriber s) {
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<std::vector<Entry>>(*subs_);
  SubscriptionId id = next_id_++;
  next->push_back({id, std::move(s)});
  subs_ = std::move(next);
  active_.store(true, std::memory_order_relaxed);
  return id;
}

void EventPublisher::unsubscribe(SubscriptionId id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<std::vector<Entry>>(*subs_);
  next->erase(std::remove_if(next->begin(), next->end(), [id](const Entry& e) { return e.id == id; }),
              next->end());
  active_.store(!next->empty(), std::memory_order_relaxed);
  subs_ = std::move(next);
}

void EventPublisher::publish(std::string type, std::string name, EventFields fields) {
  Event e;
  e.type = std::move(type);
  e.name = std::move(name);
  e.fields = std::move(fields);
  e.ts_us = to_us(clock_.now());
  publish(std::move(e));
}

void EventPublisher::publish(Event e) {
  if (e.ts_us == 0) e.ts_us = to_us(clock_.now());
  std::shared_ptr<const std::vector<Entry>> subs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    subs = subs_;
  }
  for (const auto& s : *subs) {
    try {
      s.fn(e);
    } catch (...) {
      // A broken subscriber must never fail the call it observes.
    }
  }
}

JsonLinesSink::JsonLinesSink(std::FILE* out, std::string service)
    : out_(out), service_(std::move(service)) {}

JsonLinesSink::JsonLinesSink(int fd, std::string service) : fd_(fd), service_(std::move(service)) {}

void JsonLinesSink::operator()(const Event& e) {
  std::string line = to_json_line(e, service_);
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  if (out_) {
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
    return;
  }
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

EventPublisher::SubscriptionId JsonLinesSink::attach(EventPublisher& pub, std::FILE* out) {
  auto sink = std::make_shared<JsonLinesSink>(out, pub.service());
  return pub.subscribe([sink](const Event& e) { (*sink)(e); });
}

void EventRecorder::operator()(const Event& e) {
  std::lock_guard<std::mutex> lock(mu_);
  events_.push_back(e);
}

std::vector<Event> EventRecorder::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

std::vector<Event> EventRecorder::of_type(const std::string& type) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Event> out;
  for (const auto& e : events_)
    if (e.type == type) out.push_back(e);
  return out;
}

size_t EventRecorder::count(const std::string& type) const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<size_t>(
      std::count_if(events_.begin(), events_.end(), [&](const Event& e) { return e.type == type; }));
}

void EventRecorder::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  events_.clear();
}

}  // namespace chaos::resilience
