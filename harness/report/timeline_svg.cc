// Derives timeline lanes from events and draws them as one inline SVG (see timeline_svg.h).
#include "report/timeline_svg.h"

#include "report/text.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

namespace chaos::report {
namespace {

using expect::ScenarioResult;

std::string str_field(const nlohmann::json& data, const char* key) {
  if (data.is_object()) {
    auto it = data.find(key);
    if (it != data.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

// Appends a state change at `t` to a lane, closing the previous segment there.
void change_state(StateLane& lane, double t, const std::string& from, const std::string& to,
                  const std::string& reason) {
  if (lane.segments.empty()) {
    lane.segments.push_back({0, t, from.empty() ? "UNKNOWN" : from, ""});
  } else {
    lane.segments.back().to_ms = t;
  }
  lane.segments.push_back({t, t, to, reason});
}

void finish(std::vector<StateLane>& lanes, double end) {
  for (auto& lane : lanes) {
    if (!lane.segments.empty()) lane.segments.back().to_ms = std::max(end, lane.segments.back().from_ms);
    // A state that lasted no time at all (two events at one instant) draws nothing; keep the rest.
    std::erase_if(lane.segments, [](const StateSegment& seg) { return seg.to_ms <= seg.from_ms; });
  }
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// 1, 2 or 5 times a power of ten, giving about `target` ticks across `span`.
double nice_step(double span, int target) {
  double raw = span / target;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * mag >= raw) return m * mag;
  }
  return 10 * mag;
}

std::string tick_label(double ms, bool seconds) {
  char buf[32];
  if (seconds) {
    std::snprintf(buf, sizeof buf, "%g s", std::round(ms) / 1000.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f ms", ms);
  }
  return buf;
}

}  // namespace

const char* state_colour(const std::string& state) {
  static const std::map<std::string, const char*> colours{
      {"CLOSED", "#2f9e44"},   {"OPEN", "#e03131"},      {"HALF_OPEN", "#f08c00"},
      {"FORCED_OPEN", "#9c36b5"}, {"DISABLED", "#868e96"}, {"RUNNING", "#2f9e44"},
      {"HEALTHY", "#2f9e44"},  {"DEGRADED", "#f08c00"},  {"CRITICAL", "#e03131"},
      {"UNHEALTHY", "#e03131"}};
  auto it = colours.find(state);
  return it == colours.end() ? "#adb5bd" : it->second;
}

TimelinePicture build_picture(const ScenarioResult& s) {
  TimelinePicture pic;
  double end = 0;
  for (double d : {s.timeline.duration_ms, s.duration_ms}) {
    if (std::isfinite(d)) end = std::max(end, d);
  }
  std::map<std::string, size_t> breaker_index, heal_index;
  for (const auto& e : s.timeline.events) {
    if (!std::isfinite(e.t_ms)) continue;
    double t = std::max(0.0, e.t_ms);
    end = std::max(end, t);
    if (e.type == "breaker.state") {
      std::string name = str_field(e.data, "name"), to = str_field(e.data, "to");
      if (name.empty() || to.empty()) continue;
      auto [it, added] = breaker_index.emplace(name, pic.breakers.size());
      if (added) pic.breakers.push_back({name, {}});
      change_state(pic.breakers[it->second], t, str_field(e.data, "from"), to,
                   str_field(e.data, "reason"));
    } else if (e.type == "health.state") {
      std::string to = str_field(e.data, "state");
      if (to.empty()) continue;
      if (pic.health.empty()) pic.health.push_back({"system health", {}});
      change_state(pic.health[0], t, str_field(e.data, "previous"), to, "");
    } else if (e.type == "heal.attempt") {
      std::string name = str_field(e.data, "name");
      if (name.empty()) name = str_field(e.data, "check");
      if (name.empty()) continue;
      auto [it, added] = heal_index.emplace(name, pic.heals.size());
      if (added) pic.heals.push_back({name, {}});
      HealMark m;
      m.t_ms = t;
      m.success = str_field(e.data, "outcome") == "success";
      if (e.data.is_object() && e.data.contains("attempt") && e.data["attempt"].is_number_integer()) {
        m.attempt = e.data["attempt"].get<int>();
      }
      m.message = str_field(e.data, "message");
      pic.heals[it->second].marks.push_back(std::move(m));
    } else if (e.type == "process.ready" || e.type == "process.exit") {
      ProcessMark m;
      m.t_ms = t;
      m.name = str_field(e.data, "name");
      m.exit = e.type == "process.exit";
      if (m.exit) {
        auto int_field = [&](const char* key) -> std::optional<int> {
          if (e.data.is_object() && e.data.contains(key) && e.data[key].is_number_integer()) {
            return e.data[key].get<int>();
          }
          return std::nullopt;
        };
        auto code = int_field("exit_code"), sig = int_field("signal");
        m.abnormal = abnormal_exit(code, sig);
        m.status = exit_status_text(code, sig);
      }
      pic.processes.push_back(std::move(m));
    }
  }
  for (const auto& f : s.faults) {
    if (std::isfinite(f.to_ms)) end = std::max(end, f.to_ms);
  }
  pic.end_ms = end > 0 ? end : 1;
  finish(pic.breakers, pic.end_ms);
  finish(pic.health, pic.end_ms);
  return pic;
}

std::string render_timeline_svg(const ScenarioResult& s, const std::string& id_prefix) {
  const TimelinePicture pic = build_picture(s);
  constexpr double kWidth = 1100, kLabelW = 185, kRightPad = 16, kLaneH = 22, kGap = 8;
  constexpr double kFaultRowH = 16, kAxisH = 26, kRequestsH = 34;
  const double plot_w = kWidth - kLabelW - kRightPad;
  auto x = [&](double t) {
    if (!std::isfinite(t)) t = 0;
    t = std::clamp(t, 0.0, pic.end_ms);
    return kLabelW + t / pic.end_ms * plot_w;
  };

  // Fault labels go on rows above the lanes; a label that would overlap the previous one on its row
  // moves down a row, so several faults stay readable.
  struct Placed { const ScenarioResult::FaultWindow* f; int row; std::string text; double label_x; };
  std::vector<Placed> placed;
  std::vector<double> row_end;
  for (const auto& f : s.faults) {
    std::string text = f.label.empty() ? f.type : f.label;
    if (!f.type.empty() && f.type != text) text += " · " + f.type;
    if (!f.target.empty()) text += " → " + f.target;
    text = ellipsize(text, 60);
    double width = 6.2 * static_cast<double>(valid_utf8(text).size()) * 0.9;
    // A label that would run off the right edge ends at the edge instead.
    double start = std::min(x(f.from_ms) + 3, kWidth - 2 - width);
    int row = 0;
    while (row < static_cast<int>(row_end.size()) && row_end[static_cast<size_t>(row)] > start) ++row;
    if (row == static_cast<int>(row_end.size())) row_end.push_back(0);
    row_end[static_cast<size_t>(row)] = start + width + 8;
    placed.push_back({&f, row, std::move(text), std::max(start, 0.0)});
  }
  const double lanes_top = 8 + kFaultRowH * static_cast<double>(row_end.size());

  std::vector<const expect::ExpectationResult*> failed;
  for (const auto& e : s.expectations) {
    if (!e.passed && std::isfinite(e.window_from_ms) && std::isfinite(e.window_to_ms)) failed.push_back(&e);
  }
  const size_t state_lanes =
      pic.breakers.size() + pic.health.size() + pic.heals.size() + (pic.processes.empty() ? 0 : 1);
  const bool has_requests = !s.timeline.requests.empty();
  double lanes_h = static_cast<double>(state_lanes) * (kLaneH + kGap) +
                   (has_requests ? kRequestsH + kGap : 0) +
                   static_cast<double>(failed.size()) * (14 + 4);
  if (lanes_h == 0) lanes_h = kLaneH + kGap;  // room for the "no events" note
  const double axis_y = lanes_top + lanes_h;
  const double height = axis_y + kAxisH;

  std::string o;
  o.reserve(16384);
  o += "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + num(kWidth) + " " +
       num(height) + "\" role=\"img\" aria-labelledby=\"" + markup_escape(id_prefix) + "-title\">";
  o += "<title id=\"" + markup_escape(id_prefix) + "-title\">Timeline of " + markup_escape(s.name) +
       "</title>";

  // Time grid and axis.
  const bool seconds = pic.end_ms >= 2000;
  const double step = nice_step(pic.end_ms, 10);
  for (int i = 0; i * step <= pic.end_ms * (1 + 1e-9); ++i) {
    const double t = i * step;
    std::string xs = num(x(t));
    o += "<line x1=\"" + xs + "\" y1=\"" + num(lanes_top - 4) + "\" x2=\"" + xs + "\" y2=\"" +
         num(axis_y) + "\" stroke=\"#e9ecef\"/>";
    // The last label would overflow the right edge when centred on it.
    const char* anchor = x(t) > kWidth - kRightPad - 24 ? "end" : "middle";
    o += "<text x=\"" + xs + "\" y=\"" + num(axis_y + 16) + "\" text-anchor=\"" + anchor + "\" class=\"tick\">" + tick_label(t, seconds) + "</text>";
  }
  o += "<line x1=\"" + num(kLabelW) + "\" y1=\"" + num(axis_y) + "\" x2=\"" + num(kLabelW + plot_w) +
       "\" y2=\"" + num(axis_y) + "\" stroke=\"#868e96\"/>";

  // Fault windows, shaded across every lane, labelled above.
  for (const auto& p : placed) {
    const auto& f = *p.f;
    double x0 = x(f.from_ms), x1 = std::max(x(f.to_ms), x0 + 2);
    std::string tip = p.text + ": " + human_duration(f.from_ms) + " – " + human_duration(f.to_ms);
    o += "<g class=\"fault\"><title>" + markup_escape(tip) + "</title>";
    o += "<rect x=\"" + num(x0) + "\" y=\"" + num(lanes_top - 4) + "\" width=\"" + num(x1 - x0) +
         "\" height=\"" + num(axis_y - lanes_top + 4) +
         "\" fill=\"#fa5252\" fill-opacity=\"0.10\" stroke=\"#fa5252\" stroke-opacity=\"0.55\" "
         "stroke-dasharray=\"4 3\"/>";
    double ly = 8 + kFaultRowH * p.row + 11;
    o += "<text x=\"" + num(p.label_x) + "\" y=\"" + num(ly) + "\" class=\"fault-label\">" +
         markup_escape(p.text) + "</text></g>";
  }

  double y = lanes_top;
  // Long names are cut to fit the label column; the full name is in the tooltip.
  auto lane_label = [&](const std::string& text, double lane_y, double h) {
    o += "<text x=\"" + num(kLabelW - 8) + "\" y=\"" + num(lane_y + h / 2 + 4) +
         "\" text-anchor=\"end\" class=\"lane\"><title>" + markup_escape(text) + "</title>" +
         markup_escape(ellipsize(text, 22)) + "</text>";
  };
  auto state_lane = [&](const StateLane& lane, const std::string& label) {
    lane_label(label, y, kLaneH);
    for (const auto& seg : lane.segments) {
      double x0 = x(seg.from_ms), x1 = x(seg.to_ms);
      std::string tip = seg.state + " " + human_duration(seg.from_ms) + " – " + human_duration(seg.to_ms);
      if (!seg.reason.empty()) tip += " (" + seg.reason + ")";
      o += "<g><title>" + markup_escape(tip) + "</title><rect x=\"" + num(x0) + "\" y=\"" + num(y) +
           "\" width=\"" + num(std::max(x1 - x0, 1.0)) + "\" height=\"" + num(kLaneH) + "\" fill=\"" +
           state_colour(seg.state) + "\"/>";
      double label_w = 6.6 * static_cast<double>(seg.state.size()) + 8;
      if (x1 - x0 > label_w) {
        o += "<text x=\"" + num(x0 + 5) + "\" y=\"" + num(y + kLaneH / 2 + 4) + "\" class=\"state\">" +
             markup_escape(seg.state) + "</text>";
      }
      o += "</g>";
    }
    y += kLaneH + kGap;
  };
  for (const auto& lane : pic.breakers) state_lane(lane, "breaker " + lane.name);
  for (const auto& lane : pic.health) state_lane(lane, lane.name);
  for (const auto& lane : pic.heals) {
    lane_label("heal " + lane.name, y, kLaneH);
    double cy = y + kLaneH / 2;
    o += "<line x1=\"" + num(kLabelW) + "\" y1=\"" + num(cy) + "\" x2=\"" + num(kLabelW + plot_w) +
         "\" y2=\"" + num(cy) + "\" stroke=\"#dee2e6\"/>";
    for (const auto& m : lane.marks) {
      std::string tip = "heal attempt " + (m.attempt > 0 ? std::to_string(m.attempt) + " " : "") +
                        (m.success ? "succeeded" : "failed") + " at " + human_duration(m.t_ms);
      if (!m.message.empty()) tip += ": " + m.message;
      double cx = x(m.t_ms);
      o += "<g class=\"" + std::string(m.success ? "heal-ok" : "heal-fail") + "\"><title>" +
           markup_escape(tip) + "</title>";
      if (m.success) {
        o += "<circle cx=\"" + num(cx) + "\" cy=\"" + num(cy) +
             "\" r=\"6\" fill=\"#2f9e44\" stroke=\"#fff\" stroke-width=\"1.5\"/>";
      } else {
        o += "<path d=\"M" + num(cx - 5) + " " + num(cy - 5) + "L" + num(cx + 5) + " " + num(cy + 5) + "M" +
             num(cx + 5) + " " + num(cy - 5) + "L" + num(cx - 5) + " " + num(cy + 5) +
             "\" stroke=\"#e03131\" stroke-width=\"2.5\" stroke-linecap=\"round\"/>";
      }
      o += "</g>";
    }
    y += kLaneH + kGap;
  }

  if (!pic.processes.empty()) {
    lane_label("processes", y, kLaneH);
    double cy = y + kLaneH / 2;
    o += "<line x1=\"" + num(kLabelW) + "\" y1=\"" + num(cy) + "\" x2=\"" + num(kLabelW + plot_w) +
         "\" y2=\"" + num(cy) + "\" stroke=\"#dee2e6\"/>";
    for (const auto& m : pic.processes) {
      double cx = x(m.t_ms);
      std::string tip = m.name + (m.exit ? " " + m.status : " ready") + " at " + human_duration(m.t_ms);
      const char* colour = !m.exit ? "#adb5bd" : m.abnormal ? "#c92a2a" : "#495057";
      o += "<g class=\"" + std::string(!m.exit ? "proc-ready" : m.abnormal ? "proc-crash" : "proc-exit") +
           "\"><title>" + markup_escape(tip) + "</title>";
      if (m.exit) {  // a downward triangle: the process went away here
        o += "<path d=\"M" + num(cx - 6) + " " + num(cy - 6) + "L" + num(cx + 6) + " " + num(cy - 6) + "L" + num(cx) +
             " " + num(cy + 6) + "Z\" fill=\"" + colour + "\"/>";
      } else {
        o += "<rect x=\"" + num(cx - 1.5) + "\" y=\"" + num(cy - 6) + "\" width=\"3\" height=\"12\" fill=\"" +
             colour + "\"/>";
      }
      o += "</g>";
    }
    y += kLaneH + kGap;
  }

  if (has_requests) {
    // 100%-stacked outcome share per time bucket: the success rate dropping and recovering is visible
    // at a glance, whatever the request rate.
    lane_label("requests", y, kRequestsH);
    // About four samples per bucket so a sparse workload does not draw as stripes.
    const size_t buckets = std::clamp<size_t>(s.timeline.requests.size() / 4, 10, 110);
    std::vector<std::array<size_t, 3>> counts(buckets, {0, 0, 0});
    for (const auto& r : s.timeline.requests) {
      if (!std::isfinite(r.t_ms)) continue;
      double frac = std::clamp(r.t_ms / pic.end_ms, 0.0, 1.0);
      size_t b = std::min(buckets - 1, static_cast<size_t>(frac * buckets));
      ++counts[b][static_cast<size_t>(r.outcome)];
    }
    const double bw = plot_w / buckets;
    const char* colours[3] = {"#8ce99a", "#ffd43b", "#ff8787"};  // ok, fallback, error
    for (size_t b = 0; b < buckets; ++b) {
      size_t total = counts[b][0] + counts[b][1] + counts[b][2];
      if (total == 0) continue;
      double top = y;
      for (size_t k : {size_t{2}, size_t{1}, size_t{0}}) {
        if (counts[b][k] == 0) continue;
        double h = kRequestsH * static_cast<double>(counts[b][k]) / static_cast<double>(total);
        o += "<rect x=\"" + num(kLabelW + bw * static_cast<double>(b)) + "\" y=\"" + num(top) + "\" width=\"" +
             num(bw + 0.3) + "\" height=\"" + num(h) + "\" fill=\"" + colours[k] + "\"/>";
        top += h;
      }
    }
    y += kRequestsH + kGap;
  }

  for (const auto* e : failed) {
    double x0 = x(e->window_from_ms), x1 = std::max(x(e->window_to_ms), x0 + 2);
    o += "<g class=\"failed-window\"><title>" +
         markup_escape("failed " + e->id + ": " + e->explanation) + "</title>";
    o += "<rect x=\"" + num(x0) + "\" y=\"" + num(y + 2) + "\" width=\"" + num(x1 - x0) +
         "\" height=\"10\" rx=\"2\" fill=\"none\" stroke=\"#c92a2a\" stroke-width=\"1.5\"/>";
    o += "<text x=\"" + num(kLabelW - 8) + "\" y=\"" + num(y + 11) +
         "\" text-anchor=\"end\" class=\"lane fail\">✗ " + markup_escape(ellipsize(e->id, 22)) + "</text></g>";
    y += 14 + 4;
  }

  if (state_lanes == 0 && !has_requests && failed.empty()) {
    o += "<text x=\"" + num(kLabelW + 8) + "\" y=\"" + num(lanes_top + 16) +
         "\" class=\"lane\">no breaker, health, heal or process events were observed</text>";
  }
  o += "</svg>";
  return o;
}

}  // namespace chaos::report
