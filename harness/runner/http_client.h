// A deliberately small HTTP client for the harness's own needs (mock control APIs, readiness
// probes, health polling, workload requests). cpp-httplib stays behind this header.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace chaos::runner {

struct HttpResponse {
  int status = 0;              // 0 when there was no response
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;           // transport error when status == 0
};

struct Url {
  std::string host;
  int port = 0;
  std::string path = "/";
};
// Parses "http://host:port/path". Returns nullopt for anything else (no https: loopback only).
std::optional<Url> parse_url(const std::string& url);

class HttpClient {
 public:
  HttpClient(std::string host, int port, std::chrono::milliseconds timeout);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse request(const std::string& method, const std::string& path, const std::string& body = "",
                       const std::string& content_type = "application/json");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot convenience.
HttpResponse http_request(const std::string& method, const std::string& url, const std::string& body,
                          std::chrono::milliseconds timeout);

}  // namespace chaos::runner
