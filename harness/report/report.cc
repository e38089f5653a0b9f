// write_reports and the per-format file writers (see report.h).
#include "report/report.h"

#include "common/atomic_file.h"
#include "report/junit_report.h"

#include <filesystem>
#include <system_error>

namespace chaos::report {
namespace {

WriteResult write_one(const std::string& path, const std::string& what, const std::string& contents) {
  auto r = write_file_atomically(path, contents);
  if (!r.ok) return {false, "cannot write " + what + " report " + path + ": " + r.error, {}};
  return {true, "", {path}};
}

// Rendering may throw (e.g. std::bad_alloc on a gigantic timeline); the caller gets an error instead.
template <typename Render>
WriteResult render_and_write(const std::string& path, const std::string& what, Render render) {
  std::string contents;
  try {
    contents = render();
  } catch (const std::exception& e) {
    return {false, "cannot render " + what + " report " + path + ": " + e.what(), {}};
  }
  return write_one(path, what, contents);
}

}  // namespace

FormatsParse parse_formats(std::string_view list) {
  FormatsParse out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string_view item = list.substr(start, comma == std::string_view::npos ? list.npos : comma - start);
    if (item == "json") {
      out.formats.json = true;
    } else if (item == "html") {
      out.formats.html = true;
    } else if (item == "junit") {
      out.formats.junit = true;
    } else {
      out.error = "unknown report format \"" + std::string(item) + "\" in \"" + std::string(list) +
                  "\"; expected a comma-separated list of json, html, junit";
      out.formats = Formats::none();
      return out;
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  out.ok = true;
  return out;
}

WriteResult write_json_report(const expect::RunSummary& run, const std::string& path, const JsonOptions& options) {
  return render_and_write(path, "JSON", [&] { return render_json(run, options); });
}

WriteResult write_html_report(const expect::RunSummary& run, const std::string& path, const HtmlOptions& options) {
  return render_and_write(path, "HTML", [&] { return render_html(run, options); });
}

WriteResult write_junit_report(const expect::RunSummary& run, const std::string& path) {
  return render_and_write(path, "JUnit", [&] { return render_junit(run); });
}

WriteResult write_reports(const expect::RunSummary& run, const std::string& dir, const Formats& formats) {
  namespace fs = std::filesystem;
  if (dir.empty()) return {false, "report folder is empty: name a folder to write reports into", {}};
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return {false, "cannot create report folder " + dir + ": " + ec.message(), {}};
  if (!fs::is_directory(dir, ec)) return {false, "report folder " + dir + " is not a directory", {}};

  WriteResult all{true, "", {}};
  auto add = [&](WriteResult r) {
    if (!r.ok) {
      all.ok = false;
      all.error += (all.error.empty() ? "" : "; ") + r.error;
    }
    all.written.insert(all.written.end(), r.written.begin(), r.written.end());
  };
  const fs::path base(dir);
  if (formats.json) add(write_json_report(run, (base / kJsonFileName).string()));
  if (formats.html) add(write_html_report(run, (base / kHtmlFileName).string()));
  if (formats.junit) add(write_junit_report(run, (base / kJunitFileName).string()));
  return all;
}

}  // namespace chaos::report
