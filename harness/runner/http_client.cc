#include "runner/http_client.h"

#include <httplib.h>

#include <algorithm>
#include <regex>

namespace chaos::runner {

std::optional<Url> parse_url(const std::string& url) {
  static const std::regex re(R"(^http://([^/:]+):(\d{1,5})(/.*)?$)");
  std::smatch m;
  if (!std::regex_match(url, m, re)) return std::nullopt;
  Url u;
  u.host = m[1];
  u.port = std::stoi(m[2]);
  if (u.port <= 0 || u.port > 65535) return std::nullopt;
  u.path = m[3].matched ? std::string(m[3]) : "/";
  return u;
}

struct HttpClient::Impl {
  httplib::Client client;
  Impl(const std::string& host, int port) : client(host, port) {}
};

HttpClient::HttpClient(std::string host, int port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(host, port)) {
  auto sec = static_cast<time_t>(timeout.count() / 1000);
  auto usec = static_cast<time_t>((timeout.count() % 1000) * 1000);
  impl_->client.set_connection_timeout(sec, usec);
  impl_->client.set_read_timeout(sec, usec);
  impl_->client.set_write_timeout(sec, usec);
  impl_->client.set_keep_alive(true);
  impl_->client.set_tcp_nodelay(true);  // else a POST body waits for the headers' delayed ACK
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::request(const std::string& method, const std::string& path, const std::string& body,
                                 const std::string& content_type) {
  httplib::Result res(nullptr, httplib::Error::Unknown);
  if (method == "GET") {
    res = impl_->client.Get(path);
  } else if (method == "POST") {
    res = impl_->client.Post(path, body, content_type);
  } else if (method == "PUT") {
    res = impl_->client.Put(path, body, content_type);
  } else if (method == "DELETE") {
    res = impl_->client.Delete(path);
  } else {
    HttpResponse r;
    r.error = "unsupported method " + method;
    return r;
  }
  HttpResponse r;
  if (!res) {
    r.error = httplib::to_string(res.error());
    return r;
  }
  r.status = res->status;
  r.body = res->body;
  for (const auto& [k, v] : res->headers) {
    std::string key = k;
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    r.headers[key] = v;
  }
  return r;
}

HttpResponse http_request(const std::string& method, const std::string& url, const std::string& body,
                          std::chrono::milliseconds timeout) {
  auto u = parse_url(url);
  if (!u) {
    HttpResponse r;
    r.error = "not an http://host:port/path URL: " + url;
    return r;
  }
  HttpClient c(u->host, u->port, timeout);
  return c.request(method, u->path, body);
}

}  // namespace chaos::runner
