#include "atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fiu-local.h>

namespace chaos {
namespace {

std::string errno_text(const std::string& step, const std::string& path) {
  return step + " " + path + ": " + std::strerror(errno);
}

// Retries short writes and EINTR; the fault point lets tests simulate a full disk.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    fiu_return_on("chaos/atomic_file/write", (errno = ENOSPC, false));
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

AtomicWriteResult write_file_atomically(const std::string& path, std::string_view contents) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmpl = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();

  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return {false, errno_text("cannot create temporary file in", dir.string())};
  auto fail = [&](const std::string& step) {
    AtomicWriteResult r{false, errno_text(step, tmpl)};
    if (fd >= 0) ::close(fd);
    ::unlink(tmpl.c_str());
    return r;
  };
  if (::fchmod(fd, 0644) != 0) return fail("cannot chmod");
  if (!write_all(fd, contents)) return fail("cannot write");
  if (::fsync(fd) != 0) return fail("cannot fsync");
  if (::close(fd) != 0) {
    fd = -1;
    return fail("cannot close");
  }
  fd = -1;
  if (::rename(tmpl.c_str(), path.c_str()) != 0) return fail("cannot rename over " + path + " from");
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: the rename is already visible
    ::close(dfd);
  }
  return {true, {}};
}

}  // namespace chaos
