// Lifecycle and scope of faults, shared by every kind.
#include "core/fault_table.h"

#include "core/glob.h"

#include <algorithm>
#include <cctype>

namespace chaos::mocks {

FaultTable::~FaultTable() {
  // Leave no libfiu point enabled and no listener hold behind when the table goes away.
  clear();
}

std::string FaultTable::add(const nlohmann::json& spec) {
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
  c.match = f.string("match", 4096);
  if (c.match && !info.accepts_match) {
    throw FaultSpecError("field 'match' is not supported by " + c.type + " (it acts on the whole service)");
  }
  c.probability = f.number("probability", 0, 1).value_or(1.0);
  c.start_delay = std::chrono::milliseconds(f.integer("start_delay_ms", 0, 86'400'000).value_or(0));
  if (auto d = f.integer("duration_ms", 0, 86'400'000)) c.duration = std::chrono::milliseconds(*d);
  c.kind_index = index;
  auto kind = info.make(f, c);
  f.finish("fault type \"" + c.type + "\"");
  if (faults_.size() >= kMaxFaults) {
    throw FaultSpecError("too many faults: at most " + std::to_string(kMaxFaults) + " may be registered at once");
  }
  if (c.id.empty()) {
    // Skip ids a client chose explicitly, so generated ids never collide.
    for (;;) {
      std::string id = "f" + std::to_string(next_id_++);
      bool taken = std::any_of(faults_.begin(), faults_.end(), [&](const auto& e) { return e->common.id == id; });
      if (!taken) {
        c.id = id;
        break;
      }
    }
  }
  auto e = std::make_unique<Entry>();
  e->common = std::move(c);
  e->kind_index = index;
  e->kind = std::move(kind);
  e->added = clock_.now();
  std::string id = e->common.id;
  faults_.push_back(std::move(e));
  svc_.log("fault added: " + id + " " + spec.dump());
  update();
  return id;
}

void FaultTable::activate(Entry& e) {
  e.active = true;
  if (e.kind->affects_requests()) ++active_request_faults_;
  bool reset = false;
  if (e.kind->drops_new_connections(&reset)) ++active_connection_droppers_;
  if (auto iv = e.kind->tick_interval()) e.next_tick = clock_.now() + *iv;
  svc_.log("fault started: " + e.common.id + " (" + e.common.type + ")");
  double p = e.common.probability;
  e.kind->on_activate(svc_, [this, p] { return lucky(p); });
}

void FaultTable::deactivate(Entry& e) {
  if (!e.active) return;
  e.active = false;
  if (e.kind->affects_requests()) --active_request_faults_;
  bool reset = false;
  if (e.kind->drops_new_connections(&reset)) --active_connection_droppers_;
  e.kind->on_deactivate(svc_);
  svc_.log("fault ended: " + e.common.id + " (" + e.common.type + ")");
}

bool FaultTable::remove(std::string_view id) {
  auto it = std::find_if(faults_.begin(), faults_.end(), [&](const auto& e) { return e->common.id == id; });
  if (it == faults_.end()) return false;
  std::unique_ptr<Entry> e = std::move(*it);
  faults_.erase(it);
  deactivate(*e);
  return true;
}

void FaultTable::clear() {
  auto all = std::move(faults_);
  faults_.clear();
  for (auto& e : all) deactivate(*e);
}

std::optional<TimePoint> FaultTable::update() {
  TimePoint now = clock_.now();
  // Lifecycle hooks may re-enter (crash exits; hooks log); iterate by index over a stable snapshot of ids.
  for (size_t i = 0; i < faults_.size();) {
    Entry& e = *faults_[i];
    if (!e.active && now >= e.starts()) activate(e);
    if (e.active && e.next_tick && now >= *e.next_tick && (!e.ends() || now < *e.ends())) {
      e.kind->on_tick(svc_);
      // Catch up without a burst of ticks if the loop was late.
      auto iv = *e.kind->tick_interval();
      TimePoint next = *e.next_tick + iv;
      if (next <= now) next = now + iv;
      e.next_tick = next;
    }
    if (e.ends() && now >= *e.ends()) {
      std::unique_ptr<Entry> gone = std::move(faults_[i]);
      faults_.erase(faults_.begin() + static_cast<std::ptrdiff_t>(i));
      deactivate(*gone);
      continue;
    }
    ++i;
  }
  std::optional<TimePoint> next;
  auto consider = [&](TimePoint t) { if (!next || t < *next) next = t; };
  for (const auto& e : faults_) {
    if (!e->active) consider(e->starts());
    if (e->active && e->next_tick) consider(*e->next_tick);
    if (auto end = e->ends()) consider(*end);
  }
  return next;
}

RequestEffect FaultTable::evaluate_slow(std::string_view key) {
  RequestEffect effect;
  for (const auto& e : faults_) {
    if (!e->active || !e->kind->affects_requests()) continue;
    if (e->common.match && !glob_match(*e->common.match, key)) continue;
    if (!lucky(e->common.probability)) continue;
    e->kind->apply(effect, rng_);
    effect.kinds |= 1u << e->kind_index;
  }
  return effect;
}

bool FaultTable::drop_new_connection_slow(bool* reset) {
  for (const auto& e : faults_) {
    bool r = false;
    if (e->active && e->kind->drops_new_connections(&r) && lucky(e->common.probability)) {
      *reset = r;
      return true;
    }
  }
  return false;
}

nlohmann::json FaultTable::list() const {
  TimePoint now = clock_.now();
  auto ms = [](Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : faults_) {
    nlohmann::json j = e->kind->fields();
    j["id"] = e->common.id;
    j["type"] = e->common.type;
    j["state"] = e->active ? "active" : "pending";
    if (e->common.match) j["match"] = *e->common.match;
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

}  // namespace chaos::mocks
