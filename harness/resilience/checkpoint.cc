// Versioned, checksummed, atomically written snapshots (see checkpoint.h).
#include "checkpoint.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "common/atomic_file.h"

namespace chaos::resilience {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kMagic = "CHAOS-CHECKPOINT v1";
constexpr std::string_view kSuffix = ".ckpt";

std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

bool valid_name(const std::string& n) {
  if (n.empty()) return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Parses "<magic> version=V size=S crc32=HHHHHHHH".
bool parse_header(std::string_view line, uint64_t* version, uint64_t* size, uint32_t* crc) {
  if (line.substr(0, kMagic.size()) != kMagic) return false;
  line.remove_prefix(kMagic.size());
  auto field = [&](std::string_view key, auto* out, int base) {
    std::string k = " " + std::string(key) + "=";
    if (line.substr(0, k.size()) != k) return false;
    line.remove_prefix(k.size());
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), *out, base);
    if (ec != std::errc()) return false;
    line.remove_prefix(static_cast<size_t>(p - line.data()));
    return true;
  };
  return field("version", version, 10) && field("size", size, 10) && field("crc32", crc, 16) &&
         line.empty();
}

}  // namespace

uint32_t crc32(std::string_view data) {
  static const std::array<uint32_t, 256> table = make_table();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

CheckpointManager::CheckpointManager(CheckpointConfig config, Environment env)
    : config_(std::move(config)), env_(env) {
  if (config_.directory.empty()) throw std::invalid_argument("checkpoint directory is empty");
  if (!valid_name(config_.name))
    throw std::invalid_argument("checkpoint name '" + config_.name +
                                "' must be letters, digits, '-', '_' or '.'");
}

std::string CheckpointManager::path_of(uint64_t version) const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(version));
  return (fs::path(config_.directory) / (config_.name + "-" + buf + std::string(kSuffix))).string();
}

std::vector<uint64_t> CheckpointManager::versions() const {
  std::vector<uint64_t> out;
  std::error_code ec;
  const std::string prefix = config_.name + "-";
  for (const auto& de : fs::directory_iterator(config_.directory, ec)) {
    const std::string f = de.path().filename().string();
    if (f.size() != prefix.size() + 20 + kSuffix.size()) continue;
    if (f.compare(0, prefix.size(), prefix) != 0) continue;
    if (f.compare(f.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) continue;
    uint64_t v = 0;
    auto [p, e] = std::from_chars(f.data() + prefix.size(), f.data() + prefix.size() + 20, v);
    if (e == std::errc() && p == f.data() + prefix.size() + 20) out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<uint64_t> CheckpointManager::save(std::string_view data) {
  std::lock_guard<std::mutex> lock(mu_);
  std::error_code ec;
  fs::create_directories(config_.directory, ec);
  if (ec)
    return Error::unknown("cannot create checkpoint directory " + config_.directory + ": " +
                          ec.message());
  auto existing = versions();
  const uint64_t version = existing.empty() ? 1 : existing.back() + 1;
  char header[128];
  std::snprintf(header, sizeof header, "%s version=%llu size=%zu crc32=%08x\n", kMagic.data(),
                static_cast<unsigned long long>(version), data.size(), crc32(data));
  std::string contents = header;
  contents.append(data);
  AtomicWriteResult w = write_file_atomically(path_of(version), contents);
  if (!w.ok) return Error::unknown("checkpoint '" + config_.name + "' not saved: " + w.error);
  if (env_.publishing())
    env_.events->publish("checkpoint.saved", config_.name,
                         EventFields{{"version", version}, {"bytes", data.size()}});
  prune_locked();
  return version;
}

Result<Checkpoint> CheckpointManager::load(uint64_t version) const {
  const std::string path = path_of(version);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::unknown("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string all = ss.str();
  const size_t nl = all.find('\n');
  uint64_t hv = 0, size = 0;
  uint32_t crc = 0;
  if (nl == std::string::npos || !parse_header(std::string_view(all).substr(0, nl), &hv, &size, &crc))
    return Error::validation("bad header");
  if (hv != version)
    return Error::validation("header says version " + std::to_string(hv) + ", file name says " +
                             std::to_string(version));
  std::string data = all.substr(nl + 1);
  if (data.size() != size)
    return Error::validation("size mismatch: header says " + std::to_string(size) +
                             " bytes, file has " + std::to_string(data.size()));
  const uint32_t actual = crc32(data);
  if (actual != crc) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "checksum mismatch: header crc32=%08x, data crc32=%08x", crc,
                  actual);
    return Error::validation(buf);
  }
  return Checkpoint{version, std::move(data)};
}

std::optional<Checkpoint> CheckpointManager::restore() {
  std::lock_guard<std::mutex> lock(mu_);
  auto vs = versions();
  for (auto it = vs.rbegin(); it != vs.rend(); ++it) {
    auto r = load(*it);
    if (r.ok()) {
      if (env_.publishing())
        env_.events->publish("checkpoint.restored", config_.name, EventFields{{"version", *it}});
      return std::move(r).value();
    }
    if (env_.publishing())
      env_.events->publish("checkpoint.corrupt", config_.name,
                           EventFields{{"version", *it}, {"reason", r.error().message}});
  }
  return std::nullopt;
}

void CheckpointManager::prune_locked() {
  auto vs = versions();
  const size_t keep = std::max<uint32_t>(1, config_.keep);
  if (vs.size() <= keep) return;
  // The newest version that verifies is never pruned, even when the `keep` newer ones are all corrupt
  // (a disk damaging several saves in a row): deleting it would leave restore() nothing. Usually the
  // version just written verifies, so this reads back one file (from the page cache).
  std::optional<uint64_t> newest_good;
  for (auto it = vs.rbegin(); it != vs.rend() && !newest_good; ++it) {
    if (load(*it).ok()) newest_good = *it;
  }
  for (size_t i = 0; i + keep < vs.size(); ++i) {
    if (newest_good && vs[i] == *newest_good) continue;
    std::error_code ec;
    fs::remove(path_of(vs[i]), ec);  // a leftover old version is harmless; the next save retries
  }
}

}  // namespace chaos::resilience
