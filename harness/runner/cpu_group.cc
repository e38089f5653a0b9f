#include "runner/cpu_group.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace chaos::runner {
namespace {

constexpr const char* kGroupPrefix = "chaos-harness-";

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

bool has_word(const std::string& list, const std::string& word, char sep) {
  for (const auto& w : split(list, sep))
    if (w == word) return true;
  return false;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

struct Mount {
  std::string root, point;
};

// The mount of a cgroup hierarchy from /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT POINT OPTS [TAGS] - FSTYPE
// SOURCE SUPEROPTS". v1: fstype "cgroup" whose super options name the controller; v2: fstype "cgroup2".
std::optional<Mount> find_mount(const std::string& mountinfo, bool v2, const std::string& controller) {
  std::istringstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::vector<std::string> w;
    std::string x;
    while (f >> x) w.push_back(x);
    size_t dash = 0;
    while (dash < w.size() && w[dash] != "-") ++dash;
    if (dash < 5 || dash + 3 > w.size()) continue;
    const std::string& fstype = w[dash + 1];
    if (v2 ? fstype != "cgroup2" : (fstype != "cgroup" || !has_word(w[dash + 3], controller, ','))) continue;
    return Mount{w[3], w[4]};
  }
  return std::nullopt;
}

std::string read_file(const std::string& path, bool* ok = nullptr) {
  std::ifstream in(path);
  if (ok) *ok = static_cast<bool>(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool write_file(const std::string& path, const std::string& text, std::string* why) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  ssize_t n = ::write(fd, text.data(), text.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    *why = "cannot write " + path + ": " + std::strerror(n < 0 ? err : EIO);
    return false;
  }
  return true;
}

// The path of `cgroup` inside a mount of `mount_root` (a container may see only a subtree).
std::optional<std::string> inside(const Mount& m, const std::string& cgroup) {
  if (m.root == "/") return m.point + (cgroup == "/" ? "" : cgroup);
  if (cgroup.compare(0, m.root.size(), m.root) != 0) return std::nullopt;
  return m.point + cgroup.substr(m.root.size());
}

// Groups of earlier runs that died without leaving theirs: empty ones go (rmdir refuses a busy one).
void sweep(const std::string& mount) {
  DIR* d = ::opendir(mount.c_str());
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind(kGroupPrefix, 0) != 0) continue;
    char* end = nullptr;
    long pid = std::strtol(name.c_str() + std::strlen(kGroupPrefix), &end, 10);
    if (!end || *end != '\0' || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // its owner lives
    ::rmdir((mount + "/" + name).c_str());
  }
  ::closedir(d);
}

}  // namespace

CpuGroupPlan plan_cpu_group(const CpuGroupFacts& facts) {
  CpuGroupPlan p;
  if (!facts.autogroup_enabled) {
    p.why = "no autogroup scheduling in this kernel: processes that start a session are scheduled like any other";
    return p;
  }
  if (trim(*facts.autogroup_enabled) != "1") {
    p.why = "autogroup scheduling is off (kernel.sched_autogroup_enabled=" + trim(*facts.autogroup_enabled) + ")";
    return p;
  }
  std::optional<std::string> v1_path, v2_path;
  for (const auto& line : split(facts.self_cgroup, '\n')) {
    auto first = line.find(':');
    auto second = first == std::string::npos ? std::string::npos : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = trim(line.substr(second + 1));
    if (line.compare(0, first, "0") == 0 && controllers.empty()) v2_path = path;
    else if (has_word(controllers, "cpu", ',')) v1_path = path;
  }
  if (v1_path) {
    p.from = *v1_path;
    if (*v1_path != "/") {
      p.why = "already in the cpu cgroup " + *v1_path + ", where autogroups do not apply";
      return p;
    }
    auto m = find_mount(facts.mountinfo, false, "cpu");
    if (!m || !inside(*m, "/")) {
      p.why = "the cgroup v1 cpu controller is not mounted";
      return p;
    }
    p.join = true;
    p.mount = *inside(*m, "/");
    p.why = "a cgroup of its own under " + p.mount;
    return p;
  }
  if (!v2_path) {
    p.why = "no cpu cgroup controller in /proc/self/cgroup";
    return p;
  }
  p.v2 = true;
  p.from = *v2_path;
  if (*v2_path != "/" && has_word(trim(facts.v2_own_controllers), "cpu", ' ')) {
    p.why = "already in the cgroup " + *v2_path + " with the cpu controller, where autogroups do not apply";
    return p;
  }
  auto m = find_mount(facts.mountinfo, true, "");
  if (!m || m->root != "/") {
    p.why = "the cgroup v2 root is not mounted here";
    return p;
  }
  if (!has_word(trim(facts.v2_root_subtree_control), "cpu", ' ')) {
    p.why = "the cgroup v2 root does not enable the cpu controller for its children";
    return p;
  }
  p.join = true;
  p.mount = m->point;
  p.why = "a cgroup of its own under " + p.mount;
  return p;
}

CpuGroupFacts read_cpu_group_facts() {
  CpuGroupFacts f;
  bool ok = false;
  std::string ag = read_file("/proc/sys/kernel/sched_autogroup_enabled", &ok);
  if (ok) f.autogroup_enabled = ag;
  f.self_cgroup = read_file("/proc/self/cgroup");
  f.mountinfo = read_file("/proc/self/mountinfo");
  if (auto m = find_mount(f.mountinfo, true, ""); m && m->root == "/") {
    for (const auto& line : split(f.self_cgroup, '\n'))
      if (line.rfind("0::", 0) == 0) f.v2_own_controllers = read_file(m->point + trim(line.substr(3)) + "/cgroup.controllers");
    f.v2_root_subtree_control = read_file(m->point + "/cgroup.subtree_control");
  }
  return f;
}

bool CpuGroup::join(const CpuGroupPlan& plan, std::string* why) {
  if (!plan.join) {
    *why = plan.why;
    return false;
  }
  if (joined()) return true;
  sweep(plan.mount);
  std::string dir = plan.mount + "/" + kGroupPrefix + std::to_string(::getpid());
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    *why = "cannot create " + dir + ": " + std::strerror(errno);
    return false;
  }
  // The pid moves the whole process, every thread, in v1 and v2 alike.
  if (!write_file(dir + "/cgroup.procs", std::to_string(::getpid()), why)) {
    ::rmdir(dir.c_str());
    return false;
  }
  dir_ = dir;
  back_to_ = plan.mount + (plan.from == "/" ? "" : plan.from) + "/cgroup.procs";
  return true;
}

bool CpuGroup::leave(std::string* why) {
  if (!joined()) return true;
  std::string ignored;
  std::string* w = why ? why : &ignored;
  bool ok = write_file(back_to_, std::to_string(::getpid()), w);
  if (ok && ::rmdir(dir_.c_str()) != 0) {
    *w = "cannot remove " + dir_ + ": " + std::strerror(errno);
    ok = false;
  }
  dir_.clear();
  return ok;
}

}  // namespace chaos::runner
