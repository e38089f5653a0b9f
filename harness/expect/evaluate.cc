// The expectation engine (see evaluate.h). Tolerance rule, used everywhere: tolerance is slack given
// to the system under test. A window in which something must happen is widened by it on both sides;
// a window in which something must not happen (never, max counts) is narrowed by it on both sides.
// Bounds are inclusive. Breakers start CLOSED; health checks and the system state start unknown.
#include "expect/evaluate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace chaos::expect {

using scenario::Anchor;
using nlohmann::json;

namespace {

constexpr double kEps = 1e-9;
constexpr size_t kMaxListed = 20;

std::string ms(double v) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(1);
  o << v << " ms";
  return o.str();
}

std::string num(double v, int precision = 3) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(precision);
  o << v;
  return o.str();
}

std::string str_field(const json& d, const char* key) {
  if (!d.is_object()) return "";
  auto it = d.find(key);
  if (it == d.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

bool in(double t, double lo, double hi) { return t >= lo - kEps && t <= hi + kEps; }

// An event field by name: a top-level field of exactly that name if there is one, else a dotted path
// into nested objects ("components.rpc.breaker_state"). nullptr when absent.
const json* field_at(const json& d, const std::string& key) {
  if (!d.is_object()) return nullptr;
  auto exact = d.find(key);
  if (exact != d.end()) return &*exact;
  const json* at = &d;
  size_t begin = 0;
  while (begin <= key.size()) {
    size_t dot = key.find('.', begin);
    std::string part = key.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin);
    if (!at->is_object()) return nullptr;
    auto it = at->find(part);
    if (it == at->end()) return nullptr;
    at = &*it;
    if (dot == std::string::npos) return at;
    begin = dot + 1;
  }
  return nullptr;
}

bool matches_where(const TimelineEvent& e, const std::map<std::string, json>& where) {
  if (!e.data.is_object()) return false;
  for (const auto& [k, v] : where) {
    const json* found = field_at(e.data, k);
    if (!found) return false;
    const json* it = found;
    if (!v.is_object()) {
      if (*it != v) return false;
      continue;
    }
    // {"in": [...]}: equal to one of them; {"min", "max"}: a number within the bounds (inclusive).
    if (v.contains("in")) {
      bool any = false;
      for (const auto& c : v["in"]) any = any || *it == c;
      if (!any) return false;
      continue;
    }
    if (!it->is_number()) return false;
    double x = it->get<double>();
    if (v.contains("min") && x < v["min"].get<double>()) return false;
    if (v.contains("max") && x > v["max"].get<double>()) return false;
  }
  return true;
}

// "breaker.state db CLOSED -> OPEN at 1523.0 ms (reason)" and similar short forms.
std::string describe_event(const Timeline& tl, size_t i) {
  const TimelineEvent& e = tl.events[i];
  const json& d = e.data;
  std::string s = e.type;
  if (e.type == "breaker.state") {
    s += " " + str_field(d, "name") + " " + str_field(d, "from") + " -> " + str_field(d, "to");
  } else if (e.type == "heal.attempt") {
    s += " " + str_field(d, "check") + " #" + str_field(d, "attempt") + " " + str_field(d, "outcome");
  } else if (e.type == "health.check") {
    s += " " + str_field(d, "check") + " " + str_field(d, "status");
  } else if (e.type == "health.state") {
    s += " " + str_field(d, "previous") + " -> " + str_field(d, "state");
  } else if (e.type == "health.poll") {
    s += " HTTP " + str_field(d, "http_status");
    for (const char* k : {"overall_status", "system_state"})
      if (!str_field(d, k).empty()) s += " " + std::string(k) + "=" + str_field(d, k);
  } else if (e.type == "fault.start" || e.type == "fault.end") {
    s += " " + str_field(d, "label") + " on " + str_field(d, "target");
  } else if (!str_field(d, "name").empty()) {
    s += " " + str_field(d, "name");
  }
  s += " at " + ms(e.t_ms) + " (event #" + std::to_string(i) + ")";
  std::string reason = str_field(d, "reason");
  if (e.type == "breaker.state" && !reason.empty()) s += " [" + reason + "]";
  return s;
}

std::string list_events(const Timeline& tl, const std::vector<size_t>& idx) {
  if (idx.empty()) return "none";
  std::string out;
  for (size_t k = 0; k < idx.size() && k < kMaxListed; ++k) out += (k ? "; " : "") + describe_event(tl, idx[k]);
  if (idx.size() > kMaxListed) out += "; ... " + std::to_string(idx.size() - kMaxListed) + " more";
  return out;
}

ExpectationResult base(const scenario::Expectation& e) {
  ExpectationResult r;
  r.id = e.id;
  r.kind = e.kind;
  r.description = e.description;
  return r;
}

void add_evidence(ExpectationResult& r, const std::vector<size_t>& idx) {
  for (size_t i : idx)
    if (std::find(r.evidence.begin(), r.evidence.end(), i) == r.evidence.end()) r.evidence.push_back(i);
  std::sort(r.evidence.begin(), r.evidence.end());
}

// Resolves anchors, failing the result with a clear message when one did not happen.
bool resolve_or_fail(const Anchor& a, const Timeline& tl, ExpectationResult& r, double& out) {
  ResolvedAnchor ra = resolve_anchor(a, tl);
  if (!ra.t_ms) {
    r.passed = false;
    r.observed = "anchor " + a.text() + " not on the timeline";
    r.explanation = "cannot judge: " + ra.error;
    return false;
  }
  out = *ra.t_ms;
  if (ra.event) add_evidence(r, {*ra.event});
  return true;
}

std::vector<size_t> breaker_events(const Timeline& tl, const std::string& name) {
  std::vector<size_t> out;
  for (size_t i = 0; i < tl.events.size(); ++i)
    if (tl.events[i].type == "breaker.state" && str_field(tl.events[i].data, "name") == name) out.push_back(i);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Breaker transitions: the steps must match, in order, a subsequence of the breaker's breaker.state
// events. A step without "after" measures its window from the previous step's event, so the choice of
// earlier matches affects later windows: a memoised search finds a match if any exists.
struct StepWindow {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
};

class TransitionMatcher {
 public:
  TransitionMatcher(const scenario::BreakerTransitionsExpect& x, const Timeline& tl,
                    const std::vector<size_t>& ev, const std::vector<std::optional<double>>& anchors)
      : x_(x), tl_(tl), ev_(ev), anchors_(anchors), memo_(x.steps.size() * (ev.size() + 1), -1) {}

  StepWindow window(size_t k, double prev_t) const {
    const auto& st = x_.steps[k];
    StepWindow w;
    if (!st.has_window()) return w;
    double b = anchors_[k] ? *anchors_[k] : prev_t;
    double tol = static_cast<double>(st.tolerance_ms);
    w.lo = b + static_cast<double>(st.not_before_ms.value_or(0)) - tol;
    if (st.within_ms) w.hi = b + static_cast<double>(*st.within_ms) + tol;
    return w;
  }

  bool candidate(size_t k, size_t j, double prev_t) const {
    const TimelineEvent& e = tl_.events[ev_[j]];
    if (str_field(e.data, "to") != x_.steps[k].to) return false;
    StepWindow w = window(k, prev_t);
    return in(e.t_ms, w.lo, w.hi);
  }

  // Can steps k.. match using events after position `from` (prev event time prev_t)?
  bool solve(size_t k, size_t from, double prev_t, std::vector<size_t>& path) {
    if (k == x_.steps.size()) return true;
    int8_t& m = memo_[k * (ev_.size() + 1) + from];
    if (m == 0) return false;
    for (size_t j = from; j < ev_.size(); ++j) {
      if (!candidate(k, j, prev_t)) continue;
      path.push_back(j);
      if (solve(k + 1, j + 1, tl_.events[ev_[j]].t_ms, path)) return true;
      path.pop_back();
    }
    // Only memoise when the windows of steps k.. do not depend on prev_t.
    bool depends = false;
    for (size_t q = k; q < x_.steps.size() && !depends; ++q)
      if (x_.steps[q].has_window() && !anchors_[q]) depends = true;
    if (!depends) m = 0;
    return false;
  }

 private:
  const scenario::BreakerTransitionsExpect& x_;
  const Timeline& tl_;
  const std::vector<size_t>& ev_;
  const std::vector<std::optional<double>>& anchors_;
  std::vector<int8_t> memo_;
};

std::string step_text(const scenario::TransitionStep& st) {
  std::string s = st.to;
  std::string base = st.after ? st.after->text() : "the previous transition";
  if (st.within_ms) s += " within " + std::to_string(*st.within_ms) + " ms";
  if (st.not_before_ms) s += " not before " + std::to_string(*st.not_before_ms) + " ms";
  if (st.has_window()) s += " after " + base + " (tolerance " + std::to_string(st.tolerance_ms) + " ms)";
  return s;
}

ExpectationResult eval_transitions(const scenario::Expectation& e, const scenario::BreakerTransitionsExpect& x,
                                   const Timeline& tl) {
  ExpectationResult r = base(e);
  for (size_t k = 0; k < x.steps.size(); ++k) r.expected += (k ? ", then " : "") + step_text(x.steps[k]);
  r.expected = "breaker \"" + x.breaker + "\": " + r.expected;
  std::vector<size_t> ev = breaker_events(tl, x.breaker);
  std::string seq;
  for (size_t j = 0; j < ev.size() && j < kMaxListed; ++j) {
    const auto& d = tl.events[ev[j]].data;
    seq += (j ? ", " : "") + str_field(d, "from") + "->" + str_field(d, "to") + " at " + ms(tl.events[ev[j]].t_ms);
  }
  if (ev.size() > kMaxListed) seq += ", ... " + std::to_string(ev.size() - kMaxListed) + " more";
  r.observed = ev.empty() ? "no breaker.state events for \"" + x.breaker + "\"" : "transitions of \"" + x.breaker + "\": " + seq;
  r.window_from_ms = 0;
  r.window_to_ms = tl.duration_ms;

  std::vector<std::optional<double>> anchors(x.steps.size());
  for (size_t k = 0; k < x.steps.size(); ++k) {
    if (!x.steps[k].after) continue;
    double t = 0;
    if (!resolve_or_fail(*x.steps[k].after, tl, r, t)) {
      r.explanation = "step " + std::to_string(k + 1) + " (" + x.steps[k].to + "): " + r.explanation;
      return r;
    }
    anchors[k] = t;
  }
  TransitionMatcher m(x, tl, ev, anchors);
  std::vector<size_t> path;
  if (m.solve(0, 0, 0.0, path)) {
    r.passed = true;
    std::vector<size_t> idx;
    std::string how;
    for (size_t k = 0; k < path.size(); ++k) {
      idx.push_back(ev[path[k]]);
      how += (k ? "; " : "") + x.steps[k].to + " at " + ms(tl.events[ev[path[k]]].t_ms);
      if (x.steps[k].has_window()) {
        double prev = k ? tl.events[ev[path[k - 1]]].t_ms : 0;
        StepWindow w = m.window(k, prev);
        how += " (allowed " + (std::isfinite(w.lo) ? ms(w.lo) : std::string("-")) + " .. " + (std::isfinite(w.hi) ? ms(w.hi) : std::string("end")) + ")";
      }
    }
    r.explanation = "matched in order: " + how;
    add_evidence(r, idx);
    r.window_from_ms = std::max(0.0, tl.events[idx.front()].t_ms);
    r.window_to_ms = tl.events[idx.back()].t_ms;
    return r;
  }
  // Explain with the greedy (earliest) prefix: which step could not be matched, and why.
  size_t from = 0;
  double prev_t = 0;
  std::vector<size_t> matched;
  std::string how;
  for (size_t k = 0; k < x.steps.size(); ++k) {
    size_t found = ev.size();
    for (size_t j = from; j < ev.size(); ++j)
      if (m.candidate(k, j, prev_t)) { found = j; break; }
    if (found == ev.size()) {
      StepWindow w = m.window(k, prev_t);
      std::vector<size_t> same_state;
      for (size_t j = from; j < ev.size(); ++j)
        if (str_field(tl.events[ev[j]].data, "to") == x.steps[k].to) same_state.push_back(ev[j]);
      std::string why = "step " + std::to_string(k + 1) + " (" + step_text(x.steps[k]) + ") found no match";
      if (x.steps[k].has_window())
        why += " in the allowed window " + (std::isfinite(w.lo) ? ms(w.lo) : std::string("-")) + " .. " +
               (std::isfinite(w.hi) ? ms(w.hi) : std::string("end"));
      if (!matched.empty()) why += " after " + how;
      why += same_state.empty() ? "; there was no later transition to " + x.steps[k].to
                                : "; transitions to " + x.steps[k].to + " outside it: " + list_events(tl, same_state);
      r.explanation = why;
      add_evidence(r, matched);
      add_evidence(r, same_state);
      if (x.steps[k].has_window()) {
        r.window_from_ms = std::isfinite(w.lo) ? std::max(0.0, w.lo) : 0;
        r.window_to_ms = std::isfinite(w.hi) ? w.hi : tl.duration_ms;
      }
      return r;
    }
    matched.push_back(ev[found]);
    how += (k ? ", " : "") + x.steps[k].to + " at " + ms(tl.events[ev[found]].t_ms);
    prev_t = tl.events[ev[found]].t_ms;
    from = found + 1;
  }
  // Greedy matched every step yet the search failed: cannot happen (greedy success is a solution).
  r.explanation = "no order-preserving match of the steps (greedy: " + how + ")";
  add_evidence(r, matched);
  return r;
}

// ---------------------------------------------------------------------------------------------
ExpectationResult eval_heal(const scenario::Expectation& e, const scenario::HealExpect& x, const Timeline& tl) {
  ExpectationResult r = base(e);
  r.expected = "heal attempts on \"" + x.check + "\" within " + std::to_string(x.within_ms) + " ms after " + x.after.text();
  if (x.min) r.expected += ", at least " + std::to_string(*x.min);
  if (x.max) r.expected += ", at most " + std::to_string(*x.max);
  if (!x.outcome.empty()) r.expected += x.outcome == "success" ? ", the last one successful" : ", at least one failed";
  r.expected += " (tolerance " + std::to_string(x.tolerance_ms) + " ms)";
  double a = 0;
  if (!resolve_or_fail(x.after, tl, r, a)) return r;
  double tol = static_cast<double>(x.tolerance_ms);
  double wlo = a - tol, whi = a + static_cast<double>(x.within_ms) + tol;    // must-happen
  double nlo = a + tol, nhi = a + static_cast<double>(x.within_ms) - tol;    // must-not-exceed
  std::vector<size_t> wide, narrow;
  for (size_t i = 0; i < tl.events.size(); ++i) {
    const auto& ev = tl.events[i];
    if (ev.type != "heal.attempt") continue;
    std::string check = str_field(ev.data, "check");
    if (check.empty()) check = str_field(ev.data, "name");
    if (check != x.check) continue;
    if (in(ev.t_ms, wlo, whi)) wide.push_back(i);
    if (nhi >= nlo && in(ev.t_ms, nlo, nhi)) narrow.push_back(i);
  }
  r.window_from_ms = std::max(0.0, wlo);
  r.window_to_ms = whi;
  add_evidence(r, wide);
  std::vector<std::string> fails;
  if (x.min && static_cast<int64_t>(wide.size()) < *x.min)
    fails.push_back("expected at least " + std::to_string(*x.min) + " attempts in " + ms(wlo) + " .. " + ms(whi) + ", saw " + std::to_string(wide.size()));
  if (x.max && static_cast<int64_t>(narrow.size()) > *x.max)
    fails.push_back("expected at most " + std::to_string(*x.max) + " attempts in " + ms(nlo) + " .. " + ms(nhi) + " (window narrowed by the tolerance), saw " + std::to_string(narrow.size()));
  if (x.outcome == "success") {
    if (wide.empty() || str_field(tl.events[wide.back()].data, "outcome") != "success")
      fails.push_back(wide.empty() ? "expected the last attempt to succeed, but there was no attempt"
                                   : "expected the last attempt to succeed, but it was " + describe_event(tl, wide.back()));
  } else if (x.outcome == "failure") {
    bool any = std::any_of(wide.begin(), wide.end(), [&](size_t i) { return str_field(tl.events[i].data, "outcome") == "failure"; });
    if (!any) fails.push_back("expected at least one failed attempt, none failed");
  }
  r.observed = std::to_string(wide.size()) + " attempts in the window: " + list_events(tl, wide);
  r.passed = fails.empty();
  if (r.passed) r.explanation = "heal attempts matched: " + std::to_string(wide.size()) + " in " + ms(wlo) + " .. " + ms(whi);
  else {
    for (size_t k = 0; k < fails.size(); ++k) r.explanation += (k ? "; " : "") + fails[k];
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// The observations of a condition's value, in timeline order, from one source (see Condition in
// scenario/model.h): the SUT's event stream when the timeline has any event of that kind for the
// name, else the harness's health polls. Sources are never mixed: a poll lags the stream by up to its
// interval, so interleaving both would show the state flapping when it did not.
struct ConditionTrack {
  std::vector<std::pair<size_t, std::string>> seen;  // (event index, value)
  std::string source;   // "breaker.state events", "health.poll components.db.status", ...
  std::string initial;  // value before any observation ("" = unknown)
};

ConditionTrack track_for(const scenario::Condition& c, const Timeline& tl) {
  using K = scenario::Condition::Kind;
  ConditionTrack t;
  std::string type, value_key, poll_key;
  switch (c.kind) {
    case K::kBreakerState:
      type = "breaker.state", value_key = "to", poll_key = "components." + c.name + ".breaker_state";
      t.initial = "CLOSED";
      break;
    case K::kHealthStatus:
      type = c.name.empty() ? "" : "health.check", value_key = "status";
      poll_key = c.name.empty() ? "overall_status" : "components." + c.name + ".status";
      break;
    case K::kSystemState: type = "health.state", value_key = "state", poll_key = "system_state"; break;
  }
  if (!type.empty()) {
    for (size_t i = 0; i < tl.events.size(); ++i) {
      const auto& ev = tl.events[i];
      if (ev.type != type) continue;
      if (c.kind != K::kSystemState) {
        std::string n = str_field(ev.data, c.kind == K::kHealthStatus ? "check" : "name");
        if (n.empty() && c.kind == K::kHealthStatus) n = str_field(ev.data, "name");
        if (n != c.name) continue;
      }
      t.seen.emplace_back(i, str_field(ev.data, value_key.c_str()));
    }
    t.source = type + " events";
    if (!t.seen.empty()) return t;
  }
  // Polls that could not read the value (transport error, no such field) say nothing either way.
  for (size_t i = 0; i < tl.events.size(); ++i) {
    if (tl.events[i].type != "health.poll") continue;
    const json* v = field_at(tl.events[i].data, poll_key);
    if (v && v->is_string()) t.seen.emplace_back(i, v->get<std::string>());
  }
  t.source = "health.poll " + poll_key;
  if (t.seen.empty() && !type.empty()) t.source = type + " events or health.poll " + poll_key;
  return t;
}

ExpectationResult eval_recovery(const scenario::Expectation& e, const scenario::RecoveryExpect& x, const Timeline& tl) {
  ExpectationResult r = base(e);
  r.expected = x.until.text() + " at most " + std::to_string(x.max_ms) + " ms after " + x.after.text() +
               " (tolerance " + std::to_string(x.tolerance_ms) + " ms)";
  double a = 0;
  if (!resolve_or_fail(x.after, tl, r, a)) return r;
  ConditionTrack t = track_for(x.until, tl);
  std::string state = t.initial;
  std::optional<size_t> state_event;
  std::optional<double> reached;
  std::optional<size_t> reached_event;
  for (const auto& [i, value] : t.seen) {
    const auto& ev = tl.events[i];
    if (ev.t_ms > a + kEps) {
      if (state == x.until.state) break;  // already held at the anchor
      if (value == x.until.state) {
        reached = ev.t_ms;
        reached_event = i;
        break;
      }
    }
    state = value;
    state_event = i;
  }
  if (!reached && state == x.until.state) {
    reached = a;
    reached_event = state_event;
  }
  double limit = static_cast<double>(x.max_ms + x.tolerance_ms);
  r.window_from_ms = a;
  r.window_to_ms = a + limit;
  if (!reached) {
    r.passed = false;
    r.observed = "never, until the end of observation at " + ms(tl.duration_ms) + "; state after " + x.after.text() + ": " +
                 (state.empty() ? "unknown (no observation in " + t.source + ")" : state + " (from " + t.source + ")");
    r.explanation = "expected " + x.until.text() + " by " + ms(a + limit) + " (" + x.after.text() + " at " + ms(a) + " + " +
                    std::to_string(x.max_ms) + " ms + " + std::to_string(x.tolerance_ms) + " ms tolerance), it never happened";
    if (state_event) {
      add_evidence(r, {*state_event});
      r.explanation += "; last relevant event: " + describe_event(tl, *state_event);
    }
    r.window_to_ms = std::max(r.window_to_ms, tl.duration_ms);
    return r;
  }
  double took = *reached - a;
  if (reached_event) add_evidence(r, {*reached_event});
  r.observed = "recovered after " + ms(took) + (reached_event ? " (" + describe_event(tl, *reached_event) + ")" : "") +
               ", observed through " + t.source;
  r.passed = took <= limit + kEps;
  r.explanation = r.passed ? "recovery took " + ms(took) + " <= " + std::to_string(x.max_ms) + " ms + " + std::to_string(x.tolerance_ms) + " ms tolerance"
                           : "recovery took " + ms(took) + ", more than " + std::to_string(x.max_ms) + " ms + " + std::to_string(x.tolerance_ms) +
                                 " ms tolerance = " + ms(limit);
  return r;
}

// ---------------------------------------------------------------------------------------------
bool phase_window(const std::string& name, const scenario::Scenario& s, const Timeline& tl, double& from, double& to,
                  std::string& error) {
  if (name == "all") { from = 0; to = tl.duration_ms; return true; }
  const scenario::Phase* p = s.find_phase(name);
  if (!p) { error = "phase \"" + name + "\" is not declared"; return false; }
  ResolvedAnchor a = resolve_anchor(p->from, tl), b = resolve_anchor(p->to, tl);
  if (!a.t_ms) { error = "phase \"" + name + "\" start: " + a.error; return false; }
  if (!b.t_ms) { error = "phase \"" + name + "\" end: " + b.error; return false; }
  from = *a.t_ms;
  to = *b.t_ms;
  return true;
}

std::string check_bound(const char* what, double v, const scenario::Bound& b, int precision) {
  if (b.min && v < *b.min - kEps) return std::string(what) + " " + num(v, precision) + " < min " + num(*b.min, precision);
  if (b.max && v > *b.max + kEps) return std::string(what) + " " + num(v, precision) + " > max " + num(*b.max, precision);
  return "";
}

std::string bound_text(const char* what, const scenario::Bound& b, int precision) {
  if (b.empty()) return "";
  std::string s = what;
  if (b.min) s += " >= " + num(*b.min, precision);
  if (b.min && b.max) s += " and";
  if (b.max) s += " <= " + num(*b.max, precision);
  return s;
}

ExpectationResult eval_rates(const scenario::Expectation& e, const scenario::RatesExpect& x, const scenario::Scenario& s,
                             const Timeline& tl) {
  ExpectationResult r = base(e);
  std::vector<std::string> parts;
  for (auto [w, b, p] : {std::tuple{"success_rate", &x.success_rate, 3}, {"error_rate", &x.error_rate, 3},
                         {"fallback_rate", &x.fallback_rate, 3}, {"p50", &x.p50_ms, 1}, {"p95", &x.p95_ms, 1},
                         {"p99", &x.p99_ms, 1}, {"throughput_rps", &x.throughput_rps, 1}}) {
    std::string t = bound_text(w, *b, p);
    if (!t.empty()) parts.push_back(t);
  }
  for (size_t k = 0; k < parts.size(); ++k) r.expected += (k ? ", " : "") + parts[k];
  r.expected += " in phase \"" + x.phase + "\" (at least " + std::to_string(x.min_requests) + " requests, tolerance " +
                std::to_string(x.tolerance_ms) + " ms trimmed from each end)";
  double from = 0, to = 0;
  std::string err;
  if (!phase_window(x.phase, s, tl, from, to, err)) {
    r.observed = "phase window unknown";
    r.explanation = "cannot judge: " + err;
    return r;
  }
  double tol = static_cast<double>(x.tolerance_ms);
  double lo = from + tol, hi = to - tol;
  r.window_from_ms = lo;
  r.window_to_ms = hi;
  if (hi <= lo) {
    r.observed = "phase \"" + x.phase + "\" lasted " + ms(to - from);
    r.explanation = "phase \"" + x.phase + "\" (" + ms(from) + " .. " + ms(to) + ") is not longer than twice its tolerance of " +
                    std::to_string(x.tolerance_ms) + " ms: nothing left to judge";
    return r;
  }
  PhaseMetrics m = compute_metrics(x.phase, lo, hi, tl);
  r.observed = std::to_string(m.requests) + " requests in " + ms(lo) + " .. " + ms(hi) + ": success_rate " + num(m.success_rate) +
               ", error_rate " + num(m.error_rate) + ", fallback_rate " + num(m.fallback_rate) + ", p50 " + ms(m.p50_ms) + ", p95 " +
               ms(m.p95_ms) + ", p99 " + ms(m.p99_ms) + ", throughput " + num(m.throughput_rps, 1) + " rps";
  if (static_cast<int64_t>(m.requests) < x.min_requests) {
    r.explanation = "only " + std::to_string(m.requests) + " requests in the window, fewer than min_requests " +
                    std::to_string(x.min_requests) + ": too few to judge (is the workload running in this phase?)";
    return r;
  }
  std::vector<std::string> fails;
  for (const std::string& f : {check_bound("success_rate", m.success_rate, x.success_rate, 3),
                               check_bound("error_rate", m.error_rate, x.error_rate, 3),
                               check_bound("fallback_rate", m.fallback_rate, x.fallback_rate, 3),
                               check_bound("p50_ms", m.p50_ms, x.p50_ms, 1), check_bound("p95_ms", m.p95_ms, x.p95_ms, 1),
                               check_bound("p99_ms", m.p99_ms, x.p99_ms, 1),
                               check_bound("throughput_rps", m.throughput_rps, x.throughput_rps, 1)})
    if (!f.empty()) fails.push_back(f);
  r.passed = fails.empty();
  if (r.passed) r.explanation = "all bounds hold over " + std::to_string(m.requests) + " requests";
  else
    for (size_t k = 0; k < fails.size(); ++k) r.explanation += (k ? "; " : "") + fails[k];
  return r;
}

// ---------------------------------------------------------------------------------------------
bool window_or_fail(const scenario::Window& w, const Timeline& tl, ExpectationResult& r, double& from, double& to) {
  return resolve_or_fail(w.from, tl, r, from) && resolve_or_fail(w.to, tl, r, to);
}

ExpectationResult eval_never(const scenario::Expectation& e, const scenario::NeverExpect& x, const Timeline& tl) {
  ExpectationResult r = base(e);
  std::string what = x.breaker.empty() ? "no \"" + x.event_type + "\" event" + (x.where.empty() ? "" : " with " + json(x.where).dump())
                                       : "breaker \"" + x.breaker + "\" never enters " + x.state;
  r.expected = what + " " + x.window.text() + " (tolerance " +
               std::to_string(x.tolerance_ms) + " ms trimmed from each end)";
  double from = 0, to = 0;
  if (!window_or_fail(x.window, tl, r, from, to)) return r;
  double tol = static_cast<double>(x.tolerance_ms);
  double lo = from + tol, hi = to - tol;
  r.window_from_ms = lo;
  r.window_to_ms = hi;
  std::vector<size_t> hits;
  if (hi >= lo)
    for (size_t i = 0; i < tl.events.size(); ++i)
      if (tl.events[i].type == x.event_type && matches_where(tl.events[i], x.where) && in(tl.events[i].t_ms, lo, hi)) hits.push_back(i);
  add_evidence(r, hits);
  r.passed = hits.empty();
  r.observed = std::to_string(hits.size()) + " matching events in " + ms(lo) + " .. " + ms(hi) + (hits.empty() ? "" : ": " + list_events(tl, hits));
  r.explanation = r.passed ? "nothing matched in the window" : "expected none, first at " + ms(tl.events[hits.front()].t_ms) + ": " + describe_event(tl, hits.front());
  return r;
}

ExpectationResult eval_max_transitions(const scenario::Expectation& e, const scenario::MaxTransitionsExpect& x, const Timeline& tl) {
  ExpectationResult r = base(e);
  r.expected = "at most " + std::to_string(x.max) + " state changes of breaker \"" + x.breaker + "\" " + x.window.text() +
               " (tolerance " + std::to_string(x.tolerance_ms) + " ms trimmed from each end)";
  double from = 0, to = 0;
  if (!window_or_fail(x.window, tl, r, from, to)) return r;
  double tol = static_cast<double>(x.tolerance_ms);
  double lo = from + tol, hi = to - tol;
  r.window_from_ms = lo;
  r.window_to_ms = hi;
  std::vector<size_t> hits;
  for (size_t i : breaker_events(tl, x.breaker))
    if (hi >= lo && in(tl.events[i].t_ms, lo, hi)) hits.push_back(i);
  add_evidence(r, hits);
  r.passed = static_cast<int64_t>(hits.size()) <= x.max;
  r.observed = std::to_string(hits.size()) + " transitions in " + ms(lo) + " .. " + ms(hi) + (hits.empty() ? "" : ": " + list_events(tl, hits));
  r.explanation = r.passed ? std::to_string(hits.size()) + " <= " + std::to_string(x.max)
                           : "breaker \"" + x.breaker + "\" changed state " + std::to_string(hits.size()) + " times, more than " +
                                 std::to_string(x.max) + ": it is flapping";
  return r;
}

ExpectationResult eval_event_count(const scenario::Expectation& e, const scenario::EventCountExpect& x, const Timeline& tl) {
  ExpectationResult r = base(e);
  r.expected = "count of \"" + x.type + "\" events" + (x.where.empty() ? "" : " with " + json(x.where).dump());
  if (x.min) r.expected += " >= " + std::to_string(*x.min);
  if (x.max) r.expected += " <= " + std::to_string(*x.max);
  r.expected += " between " + x.window.from.text() + " and " + x.window.to.text() + " (tolerance " + std::to_string(x.tolerance_ms) + " ms)";
  double from = 0, to = 0;
  if (!window_or_fail(x.window, tl, r, from, to)) return r;
  double tol = static_cast<double>(x.tolerance_ms);
  std::vector<size_t> wide, narrow;
  for (size_t i = 0; i < tl.events.size(); ++i) {
    const auto& ev = tl.events[i];
    if (ev.type != x.type || !matches_where(ev, x.where)) continue;
    if (in(ev.t_ms, from - tol, to + tol)) wide.push_back(i);
    if (to - tol >= from + tol && in(ev.t_ms, from + tol, to - tol)) narrow.push_back(i);
  }
  r.window_from_ms = std::max(0.0, from - tol);
  r.window_to_ms = to + tol;
  add_evidence(r, wide);
  std::vector<std::string> fails;
  if (x.min && static_cast<int64_t>(wide.size()) < *x.min)
    fails.push_back("expected at least " + std::to_string(*x.min) + " in " + ms(from - tol) + " .. " + ms(to + tol) + ", saw " + std::to_string(wide.size()));
  if (x.max && static_cast<int64_t>(narrow.size()) > *x.max)
    fails.push_back("expected at most " + std::to_string(*x.max) + " in " + ms(from + tol) + " .. " + ms(to - tol) + ", saw " + std::to_string(narrow.size()));
  r.observed = std::to_string(wide.size()) + " matching events (" + std::to_string(narrow.size()) + " inside the trimmed window)" +
               (wide.empty() ? "" : ": " + list_events(tl, wide));
  r.passed = fails.empty();
  if (r.passed) r.explanation = "count within bounds";
  else
    for (size_t k = 0; k < fails.size(); ++k) r.explanation += (k ? "; " : "") + fails[k];
  return r;
}

ExpectationResult eval_system_state(const scenario::Expectation& e, const scenario::SystemStateExpect& x, const Timeline& tl) {
  ExpectationResult r = base(e);
  r.expected = "system state " + x.state + " at " + x.at.text() + " (within " + std::to_string(x.tolerance_ms) + " ms either side)";
  double at = 0;
  if (!resolve_or_fail(x.at, tl, r, at)) return r;
  double tol = static_cast<double>(x.tolerance_ms);
  double lo = at - tol, hi = at + tol;
  r.window_from_ms = std::max(0.0, lo);
  r.window_to_ms = hi;
  scenario::Condition cond;
  cond.kind = scenario::Condition::Kind::kSystemState;
  ConditionTrack t = track_for(cond, tl);
  std::string before;  // state in effect at lo
  std::optional<size_t> before_ev;
  std::vector<size_t> during;
  std::vector<std::string> during_values;
  for (const auto& [i, value] : t.seen) {
    const auto& ev = tl.events[i];
    if (ev.t_ms <= lo + kEps) { before = value; before_ev = i; }
    else if (ev.t_ms <= hi + kEps) { during.push_back(i); during_values.push_back(value); }
  }
  std::vector<std::string> seen;
  if (!before.empty()) seen.push_back(before);
  for (const auto& v : during_values) seen.push_back(v);
  if (before_ev) add_evidence(r, {*before_ev});
  add_evidence(r, during);
  r.passed = std::find(seen.begin(), seen.end(), x.state) != seen.end();
  std::string states;
  for (size_t k = 0; k < seen.size(); ++k) states += (k ? ", " : "") + seen[k];
  r.observed = seen.empty() ? "no system state observed at or before " + ms(hi) + " (looked at " + t.source + ")"
                            : "states in " + ms(lo) + " .. " + ms(hi) + " (from " + t.source + "): " + states;
  r.explanation = r.passed ? "system was " + x.state + " within the window"
                           : "expected " + x.state + " at " + ms(at) + ", observed " +
                                 (seen.empty() ? "no system state (no health.state event from the SUT and no health.poll with system_state)" : states) +
                                 (before_ev ? "; last change before the window: " + describe_event(tl, *before_ev) : "");
  return r;
}

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  if (rank == 0) rank = 1;
  return sorted[std::min(rank, sorted.size()) - 1];
}

}  // namespace

// ---------------------------------------------------------------------------------------------
ResolvedAnchor resolve_anchor(const Anchor& a, const Timeline& tl) {
  ResolvedAnchor out;
  double off = static_cast<double>(a.offset_ms);
  switch (a.kind) {
    case Anchor::Kind::kStart: out.t_ms = 0 + off; return out;
    case Anchor::Kind::kEnd: out.t_ms = tl.duration_ms + off; return out;
    case Anchor::Kind::kFaultStart:
    case Anchor::Kind::kFaultEnd: break;
    case Anchor::Kind::kEvent:
      for (size_t i = 0; i < tl.events.size(); ++i)
        if (tl.events[i].type == a.event_type && matches_where(tl.events[i], a.where)) {
          out.t_ms = tl.events[i].t_ms + off;
          out.event = i;
          return out;
        }
      out.error = "no " + a.event_type + " event" + (a.where.empty() ? "" : " with " + json(a.where).dump()) +
                  " on the timeline";
      return out;
  }
  std::optional<size_t> start;
  for (size_t i = 0; i < tl.events.size(); ++i)
    if (tl.events[i].type == "fault.start" && str_field(tl.events[i].data, "label") == a.label) { start = i; break; }
  if (a.kind == Anchor::Kind::kFaultStart) {
    if (!start) { out.error = "fault \"" + a.label + "\" never started (no fault.start event with that label)"; return out; }
    out.t_ms = tl.events[*start].t_ms + off;
    out.event = start;
    return out;
  }
  for (size_t i = start.value_or(0); i < tl.events.size(); ++i)
    if (tl.events[i].type == "fault.end" && str_field(tl.events[i].data, "label") == a.label) {
      out.t_ms = tl.events[i].t_ms + off;
      out.event = i;
      return out;
    }
  out.error = "fault \"" + a.label + "\" never ended (no fault.end event with that label" + (start ? "" : ", and it never started") + ")";
  return out;
}

ExpectationResult evaluate_one(const scenario::Expectation& e, const scenario::Scenario& s, const Timeline& tl) {
  return std::visit(
      [&](const auto& x) -> ExpectationResult {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, scenario::BreakerTransitionsExpect>) return eval_transitions(e, x, tl);
        else if constexpr (std::is_same_v<T, scenario::HealExpect>) return eval_heal(e, x, tl);
        else if constexpr (std::is_same_v<T, scenario::RecoveryExpect>) return eval_recovery(e, x, tl);
        else if constexpr (std::is_same_v<T, scenario::RatesExpect>) return eval_rates(e, x, s, tl);
        else if constexpr (std::is_same_v<T, scenario::NeverExpect>) return eval_never(e, x, tl);
        else if constexpr (std::is_same_v<T, scenario::MaxTransitionsExpect>) return eval_max_transitions(e, x, tl);
        else if constexpr (std::is_same_v<T, scenario::EventCountExpect>) return eval_event_count(e, x, tl);
        else return eval_system_state(e, x, tl);
      },
      e.body);
}

std::vector<ExpectationResult> evaluate(const scenario::Scenario& s, const Timeline& tl) {
  std::vector<ExpectationResult> out;
  out.reserve(s.expectations.size());
  for (const auto& e : s.expectations) out.push_back(evaluate_one(e, s, tl));
  return out;
}

ExpectationResult evaluate_steady_state(const scenario::Scenario& s, const Timeline& tl, std::optional<double> until_ms) {
  ExpectationResult r;
  r.id = "steady_state";
  r.kind = "steady_state";
  const scenario::SteadyState& ss = s.steady_state;
  double until = tl.duration_ms;
  if (until_ms) until = *until_ms;
  else if (auto first = s.first_fault_ms()) {
    until = static_cast<double>(*first);
    for (const auto& ev : tl.events)
      if (ev.type == "fault.start") { until = ev.t_ms; break; }
  }
  r.description = "steady state before the first fault: success rate >= " + num(ss.min_success_rate) +
                  (ss.breakers_closed ? ", every breaker CLOSED" : "") + (ss.health.empty() ? "" : ", every health check " + ss.health);
  r.expected = r.description + " on 0 .. " + ms(until) + " (at least " + std::to_string(ss.min_requests) + " requests)";
  r.window_from_ms = 0;
  r.window_to_ms = until;
  if (!ss.enabled) {
    r.passed = true;
    r.observed = "not checked";
    r.explanation = "steady_state is disabled in the scenario";
    return r;
  }
  std::vector<std::string> fails, notes;
  PhaseMetrics m = compute_metrics("steady_state", 0, until, tl);
  if (static_cast<int64_t>(m.requests) < ss.min_requests)
    fails.push_back("only " + std::to_string(m.requests) + " requests before the first fault, need " + std::to_string(ss.min_requests));
  else if (m.requests > 0 && m.success_rate < ss.min_success_rate - kEps)
    fails.push_back("success rate " + num(m.success_rate) + " < " + num(ss.min_success_rate) + " (" + std::to_string(m.ok) + "/" +
                    std::to_string(m.requests) + " ok)");
  std::vector<size_t> bad;
  if (ss.breakers_closed)
    for (size_t i = 0; i < tl.events.size() && tl.events[i].t_ms < until; ++i)
      if (tl.events[i].type == "breaker.state" && str_field(tl.events[i].data, "to") != "CLOSED") bad.push_back(i);
  if (!bad.empty()) fails.push_back("breaker left CLOSED before the first fault: " + list_events(tl, bad));
  if (!ss.health.empty()) {
    std::map<std::string, size_t> last;
    for (size_t i = 0; i < tl.events.size() && tl.events[i].t_ms < until; ++i)
      if (tl.events[i].type == "health.check") {
        std::string c = str_field(tl.events[i].data, "check");
        last[c.empty() ? str_field(tl.events[i].data, "name") : c] = i;
      }
    // No health.check events: judge the harness's last health poll before the first fault instead.
    std::optional<size_t> last_poll;
    if (last.empty())
      for (size_t i = 0; i < tl.events.size() && tl.events[i].t_ms < until; ++i)
        if (tl.events[i].type == "health.poll" && field_at(tl.events[i].data, "overall_status")) last_poll = i;
    if (last.empty() && !last_poll)
      notes.push_back("health not observed (no health.check events and no health.poll with overall_status before the first fault)");
    if (last_poll) {
      std::string overall = str_field(tl.events[*last_poll].data, "overall_status");
      if (overall != ss.health) {
        bad.push_back(*last_poll);
        fails.push_back("health poll before the first fault read overall_status " + overall + ", expected " + ss.health + " (" +
                        describe_event(tl, *last_poll) + ")");
      } else {
        notes.push_back("health observed by polling: overall_status " + overall);
      }
    }
    for (const auto& [check, i] : last)
      if (str_field(tl.events[i].data, "status") != ss.health) {
        bad.push_back(i);
        fails.push_back("health check \"" + check + "\" was " + str_field(tl.events[i].data, "status") + ", expected " + ss.health);
      }
  }
  add_evidence(r, bad);
  r.observed = std::to_string(m.requests) + " requests, success rate " + num(m.success_rate) + ", " + std::to_string(bad.size()) +
               " non-steady events";
  for (const auto& n : notes) r.observed += "; " + n;
  r.passed = fails.empty();
  if (r.passed) r.explanation = "baseline is steady";
  else {
    r.explanation = "the baseline was not steady, so the scenario's verdict would mean nothing: ";
    for (size_t k = 0; k < fails.size(); ++k) r.explanation += (k ? "; " : "") + fails[k];
  }
  return r;
}

PhaseMetrics compute_metrics(const std::string& name, double from_ms, double to_ms, const Timeline& tl) {
  PhaseMetrics m;
  m.name = name;
  m.from_ms = from_ms;
  m.to_ms = to_ms;
  std::vector<double> lat;
  for (const auto& q : tl.requests) {
    if (q.t_ms < from_ms - kEps || q.t_ms >= to_ms - kEps) continue;
    ++m.requests;
    lat.push_back(q.latency_ms);
    switch (q.outcome) {
      case RequestOutcome::kOk: ++m.ok; break;
      case RequestOutcome::kFallback: ++m.fallback; break;
      case RequestOutcome::kError: ++m.errors; break;
    }
  }
  std::sort(lat.begin(), lat.end());
  m.p50_ms = percentile(lat, 50);
  m.p95_ms = percentile(lat, 95);
  m.p99_ms = percentile(lat, 99);
  m.max_ms = lat.empty() ? 0 : lat.back();
  double secs = (to_ms - from_ms) / 1000.0;
  m.throughput_rps = secs > 0 ? static_cast<double>(m.requests) / secs : 0;
  if (m.requests > 0) {
    double n = static_cast<double>(m.requests);
    m.success_rate = static_cast<double>(m.ok) / n;
    m.error_rate = static_cast<double>(m.errors) / n;
    m.fallback_rate = static_cast<double>(m.fallback) / n;
  }
  return m;
}

std::vector<PhaseMetrics> compute_phases(const scenario::Scenario& s, const Timeline& tl) {
  std::vector<PhaseMetrics> out;
  out.push_back(compute_metrics("all", 0, tl.duration_ms, tl));
  for (const auto& p : s.phases) {
    ResolvedAnchor a = resolve_anchor(p.from, tl), b = resolve_anchor(p.to, tl);
    if (!a.t_ms || !b.t_ms) {
      PhaseMetrics m;
      m.name = p.name;
      out.push_back(m);
      continue;
    }
    out.push_back(compute_metrics(p.name, *a.t_ms, *b.t_ms, tl));
  }
  return out;
}

}  // namespace chaos::expect
