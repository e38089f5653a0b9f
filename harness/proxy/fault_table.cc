// Validation and lifecycle of proxy faults, shared by every kind.
#include "proxy/fault_table.h"

#include <algorithm>
#include <cctype>

namespace chaos::proxy {

ProxyFaultTable::~ProxyFaultTable() {
  // Leave no listener hold behind when the table goes away.
  clear();
}

std::string ProxyFaultTable::add(const nlohmann::json& spec) {
  FieldReader f(spec);
  FaultCommon c;
  auto type = f.string("type", 64);
  if (!type) throw FaultSpecError("field 'type' is required (one of the fault kinds, e.g. \"latency\")");
  int index = find_fault_kind(*type);
  if (index < 0) {
    std::string names;
    for (const auto& k : fault_kinds()) names += (names.empty() ? "" : ", ") + std::string(k.type);
    throw FaultSpecError("field 'type' must be one of " + names + ", got \"" + *type + "\"");
  }
  const FaultKindInfo& info = fault_kinds()[static_cast<size_t>(index)];
  c.type = *type;
  if (auto id = f.string("id", 128)) {
    if (id->empty()) throw FaultSpecError("field 'id' must not be empty");
    for (char ch : *id) {
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.')) {
        throw FaultSpecError("field 'id' may hold only letters, digits, '-', '_' and '.', got \"" + *id + "\"");
      }
    }
    for (const auto& e : faults_)
      if (e->common.id == *id) throw FaultSpecError("field 'id': a fault with id \"" + *id + "\" already exists");
    c.id = *id;
  }
  if (f.has("match")) {
    throw FaultSpecError("field 'match' is not supported by fault-proxy (it forwards bytes and sees no requests)");
  }
  if (auto dir = f.one_of("direction", {"upstream", "downstream", "both"})) {
    if (!info.per_link) throw FaultSpecError("field 'direction' is not supported by " + c.type + " (it acts on the whole proxy)");
    c.upstream = *dir != "downstream";
    c.downstream = *dir != "upstream";
  }
  c.probability = f.number("probability", 0, 1).value_or(1.0);
  c.start_delay = std::chrono::milliseconds(f.integer("start_delay_ms", 0, 86'400'000).value_or(0));
  if (auto d = f.integer("duration_ms", 0, 86'400'000)) c.duration = std::chrono::milliseconds(*d);
  auto kind = info.make(f, c);
  f.finish("fault type \"" + c.type + "\"");
  if (faults_.size() >= kMaxFaults) {
    throw FaultSpecError("too many faults: at most " + std::to_string(kMaxFaults) + " may be registered at once");
  }
  if (c.id.empty()) {
    // Skip ids a client chose explicitly, so generated ids never collide.
    for (;;) {
      std::string id = "f" + std::to_string(next_id_++);
      if (std::none_of(faults_.begin(), faults_.end(), [&](const auto& e) { return e->common.id == id; })) {
        c.id = id;
        break;
      }
    }
  }
  auto e = std::make_unique<Entry>();
  e->common = std::move(c);
  e->kind_index = index;
  e->per_link = info.per_link;
  e->serial = next_serial_++;
  e->kind = std::move(kind);
  e->added = clock_.now();
  std::string id = e->common.id;
  faults_.push_back(std::move(e));
  proxy_.log("fault added: " + id + " " + spec.dump());
  update();
  return id;
}

void ProxyFaultTable::activate(Entry& e) {
  e.active = true;
  ++generation_;
  proxy_.log("fault started: " + e.common.id + " (" + e.common.type + ")");
  if (!e.per_link) {
    e.took_effect = draw(e.common.probability);
    if (e.took_effect) {
      ++applied_[static_cast<size_t>(e.kind_index)];
      e.kind->on_activate(proxy_);
    } else {
      proxy_.log("fault " + e.common.id + " skipped by its probability draw");
    }
  }
}

void ProxyFaultTable::deactivate(Entry& e) {
  if (!e.active) return;
  e.active = false;
  ++generation_;
  if (e.took_effect) e.kind->on_deactivate(proxy_);
  proxy_.log("fault ended: " + e.common.id + " (" + e.common.type + ")");
}

bool ProxyFaultTable::remove(std::string_view id) {
  auto it = std::find_if(faults_.begin(), faults_.end(), [&](const auto& e) { return e->common.id == id; });
  if (it == faults_.end()) return false;
  std::unique_ptr<Entry> e = std::move(*it);
  faults_.erase(it);
  deactivate(*e);
  return true;
}

void ProxyFaultTable::clear() {
  auto all = std::move(faults_);
  faults_.clear();
  for (auto& e : all) deactivate(*e);
}

std::optional<TimePoint> ProxyFaultTable::update() {
  TimePoint now = clock_.now();
  for (size_t i = 0; i < faults_.size();) {
    Entry& e = *faults_[i];
    if (!e.active && now >= e.starts()) activate(e);
    if (e.ends() && now >= *e.ends()) {
      std::unique_ptr<Entry> gone = std::move(faults_[i]);
      faults_.erase(faults_.begin() + static_cast<std::ptrdiff_t>(i));
      deactivate(*gone);
      continue;
    }
    ++i;
  }
  std::optional<TimePoint> next;
  for (const auto& e : faults_) {
    if (!e->active && (!next || e->starts() < *next)) next = e->starts();
    if (auto end = e->ends(); end && (!next || *end < *next)) next = *end;
  }
  return next;
}

std::vector<ActiveFault> ProxyFaultTable::active_for(Direction d) const {
  std::vector<ActiveFault> out;
  for (const auto& e : faults_) {
    if (e->active && e->per_link && e->common.applies_to(d)) {
      out.push_back({e->serial, e->kind_index, &e->common, e->kind.get()});
    }
  }
  return out;
}

nlohmann::json ProxyFaultTable::list() const {
  TimePoint now = clock_.now();
  auto ms = [](Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : faults_) {
    nlohmann::json j = e->kind->fields();
    j["id"] = e->common.id;
    j["type"] = e->common.type;
    j["state"] = e->active ? "active" : "pending";
    if (e->per_link) j["direction"] = e->common.direction_name();
    j["probability"] = e->common.probability;
    j["start_delay_ms"] = ms(e->common.start_delay);
    j["starts_in_ms"] = e->active ? 0 : std::max<int64_t>(0, ms(e->starts() - now));
    if (e->common.duration) {
      j["duration_ms"] = ms(*e->common.duration);
      j["remaining_ms"] = std::max<int64_t>(0, ms(*e->ends() - std::max(now, e->starts())));
    } else {
      j["duration_ms"] = nullptr;
      j["remaining_ms"] = nullptr;  // until cleared
    }
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace chaos::proxy
