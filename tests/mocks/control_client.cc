// cpp-httplib based control client and polling helpers.
#include "control_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace chaos::mocks::testing {

HttpResult http_request(int port, const std::string& method, const std::string& path, const std::string& body,
                        std::chrono::milliseconds timeout) {
  httplib::Client cli("127.0.0.1", port);
  auto secs = timeout.count() / 1000;
  auto usecs = (timeout.count() % 1000) * 1000;
  cli.set_connection_timeout(secs, usecs);
  cli.set_read_timeout(secs, usecs);
  cli.set_write_timeout(secs, usecs);
  httplib::Result r = [&] {
    if (method == "POST") return cli.Post(path.c_str(), body, "application/json");
    if (method == "DELETE") return cli.Delete(path.c_str());
    if (method == "PUT") return cli.Put(path.c_str(), body, "application/json");
    return cli.Get(path.c_str());
  }();
  HttpResult out;
  if (!r) {
    out.error = httplib::to_string(r.error());
    return out;
  }
  out.status = r->status;
  out.body = r->body;
  for (const auto& [k, v] : r->headers) out.headers[k] = v;
  return out;
}

std::string ControlClient::must_add(const nlohmann::json& fault) {
  HttpResult r = add_fault(fault);
  EXPECT_EQ(r.status, 201) << "adding " << fault.dump() << " -> " << r.status << " " << r.body << r.error;
  if (r.status != 201) return "";
  return r.json().value("id", "");
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

bool can_connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace chaos::mocks::testing
