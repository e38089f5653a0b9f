// The mock runtime: Boost.Asio, one io_context on one thread, no thread per connection. It owns the
// sockets so faults can delay, withhold, truncate or reset any response, and it is the ServiceControl
// the fault lifecycle hooks act on. The control API is served from the same loop, so the fault table
// needs no locks.
#include "core/server.h"

#include "core/control_api.h"
#include "core/fault_hooks.h"
#include "core/fault_table.h"
#include "core/http.h"
#include "core/stats.h"

#include <boost/asio.hpp>

#include <fiu-control.h>
#include <fiu-local.h>

#include <array>
#include <cstdio>
#include <optional>
#include <unordered_map>
#include <unistd.h>

namespace chaos::mocks {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kMaxBufferedInput = 80 * 1024 * 1024;   // beyond any session's frame limit
constexpr size_t kMaxPendingOutput = 8 * 1024 * 1024;     // stop reading until the client drains

class Server;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server& server, tcp::socket socket, std::unique_ptr<ProtocolSession> session, uint64_t id, bool control)
      : server_(server), socket_(std::move(socket)), session_(std::move(session)), timer_(socket_.get_executor()),
        id_(id), control_(control) {}

  void start() { maybe_read(); }
  void close(bool reset);
  uint64_t id() const { return id_; }
  bool is_control() const { return control_; }
  // Every later request on this connection gets `answer` (a stateful fault broke it for good).
  void set_broken(const RequestEffect& answer) { broken_ = answer; }

 private:
  void maybe_read();
  void on_read(const error_code& ec, size_t n);
  void process();
  void handle_request();
  void finish(const RequestEffect& effect);
  void count_kinds(uint32_t kinds);
  void flush();
  void graceful_close();

  Server& server_;
  tcp::socket socket_;
  std::unique_ptr<ProtocolSession> session_;
  asio::steady_timer timer_;
  uint64_t id_;
  bool control_;
  std::optional<RequestEffect> broken_;

  std::array<char, kReadChunk> read_buf_;
  std::string in_;
  size_t in_pos_ = 0;
  std::string out_, writing_;
  bool reading_ = false, writing_active_ = false, waiting_ = false, hung_ = false;
  bool close_after_flush_ = false, eof_ = false, closed_ = false;
  RequestEffect pending_;
};

// Control API over HTTP/1.1, one request at a time per connection.
class ControlSession final : public ProtocolSession {
 public:
  explicit ControlSession(Server& server) : server_(server), parser_(ControlApi::kMaxBody) {}
  Step parse(std::string_view in, std::string& out) override {
    size_t used = 0;
    switch (parser_.feed(in, &used)) {
      case HttpRequestParser::Result::kNeedMore:
        if (parser_.wants_continue()) out += kHttpContinue;
        return {StepKind::kNeedMore, used};
      case HttpRequestParser::Result::kDone: return {StepKind::kRequest, used};
      case HttpRequestParser::Result::kError:
        append_http_response(out, parser_.error_status(), "application/json",
                             nlohmann::json{{"error", parser_.error_message()}}.dump(), false);
        return {StepKind::kClose, used};
    }
    return {StepKind::kClose, used};
  }
  std::string_view request_key() const override { return parser_.request().target; }
  void serve(std::string& out) override;
  void fail(const ErrorSpec& e, std::string& out) override {
    append_http_response(out, e.status, "application/json", nlohmann::json{{"error", e.message}}.dump(), false);
  }
  bool close_after_response() const override { return !parser_.request().keep_alive; }

 private:
  Server& server_;
  HttpRequestParser parser_;
};

class Server final : public ServiceControl {
 public:
  Server(const MockDefinition& def, const MockOptions& opt)
      : def_(def), opt_(opt), rng_(opt.seed), faults_(SteadyClock::instance(), rng_, *this),
        api_(def.service, faults_, stats_), acceptor_(io_), control_acceptor_(io_), fault_timer_(io_),
        retry_timer_(io_), signals_(io_, SIGTERM, SIGINT), hooks_(faults_, def.fiu_prefix) {
    label_ = def.service + (opt.name.empty() ? "" : "[" + opt.name + "]");
  }

  ~Server() override {
    // Lifecycle hooks call back into this object: run them while every member is still alive.
    stopping_ = true;
    faults_.clear();
  }

  int run();

  // ServiceControl
  void drop_open_connections(bool reset, const std::function<bool()>& pick) override {
    for (auto& c : snapshot()) {
      if (pick()) {
        ++stats_.connections_dropped;
        c->close(reset);
      }
    }
    log("dropped open connections" + std::string(reset ? " with RST" : ""));
  }
  void hold_listener_down() override {
    if (down_holds_++ == 0) {
      listener_generation_++;
      error_code ec;
      acceptor_.close(ec);
      retry_timer_.cancel();
      log("listener down (port " + std::to_string(port_) + ")");
    }
  }
  void release_listener_down() override {
    if (down_holds_ > 0 && --down_holds_ == 0) reopen_listener();
  }
  void break_open_connections_with(const RequestEffect& answer, const std::function<bool()>& pick) override {
    int n = 0;
    for (auto& c : snapshot()) {
      if (pick()) {
        c->set_broken(answer);
        ++n;
      }
    }
    log(std::to_string(n) + " open connection(s) now broken until they reconnect");
  }
  void crash(int exit_code) override {
    log("crash: exiting with code " + std::to_string(exit_code));
    // Let the control reply that triggered this (and its log line) leave first.
    auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(50));
    t->async_wait([this, t, exit_code](const error_code&) { hard_exit(exit_code); });
  }
  void log(const std::string& line) override { std::fprintf(stderr, "[%s] %s\n", label_.c_str(), line.c_str()); }

  // Used by connections.
  FaultTable& faults() { return faults_; }
  Stats& stats() { return stats_; }
  ControlApi& api() { return api_; }
  FaultHooks& hooks() { return hooks_; }
  void forget(const Connection& c) {
    if (c.is_control()) {
      control_conns_.erase(c.id());
    } else if (conns_.erase(c.id())) {
      --stats_.connections_open;
    }
  }
  // Re-arms the fault timer after the table changed (control API).
  void faults_changed() { arm_fault_timer(); }

 private:
  std::vector<std::shared_ptr<Connection>> snapshot() {
    std::vector<std::shared_ptr<Connection>> v;
    v.reserve(conns_.size());
    for (auto& [id, c] : conns_) v.push_back(c);
    return v;
  }
  bool open_listener(uint16_t port, std::string* why);
  void reopen_listener();
  void accept_service(uint64_t generation);
  void accept_control();
  void arm_fault_timer();
  void shutdown();
  [[noreturn]] void hard_exit(int code);

  const MockDefinition& def_;
  const MockOptions& opt_;
  std::string label_;
  asio::io_context io_{1};
  SeededRandom rng_;
  Stats stats_;
  FaultTable faults_;
  ControlApi api_;
  tcp::acceptor acceptor_, control_acceptor_;
  asio::steady_timer fault_timer_, retry_timer_;
  asio::signal_set signals_;
  uint16_t port_ = 0, control_port_ = 0;
  int down_holds_ = 0;
  uint64_t listener_generation_ = 0;
  uint64_t next_conn_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> conns_, control_conns_;
  FaultHooks hooks_;  // every per-connection and per-request fault check
  bool stopping_ = false;
};

// ---- Connection ---------------------------------------------------------------------------------

void Connection::close(bool reset) {
  if (closed_) return;
  closed_ = true;
  error_code ec;
  timer_.cancel();
  if (reset) {
    socket_.set_option(asio::socket_base::linger(true, 0), ec);
  } else {
    socket_.shutdown(tcp::socket::shutdown_both, ec);
  }
  socket_.close(ec);
  server_.forget(*this);  // may drop the last owner; `this` lives on in pending handlers only
}

void Connection::graceful_close() { close(false); }

void Connection::maybe_read() {
  if (reading_ || closed_ || eof_) return;
  if (out_.size() + writing_.size() > kMaxPendingOutput) return;  // resumed by the write completion
  if (in_.size() - in_pos_ > kMaxBufferedInput) {
    server_.log("closing a connection that sent more than " + std::to_string(kMaxBufferedInput) +
                " bytes without completing a request");
    close(false);
    return;
  }
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > 64 * 1024 && in_pos_ * 2 > in_.size()) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  reading_ = true;
  // A separate read buffer: `in_` must hold only received bytes, since a delayed request resumes
  // parsing while this read is still pending.
  socket_.async_read_some(asio::buffer(read_buf_), [self = shared_from_this()](const error_code& ec, size_t n) {
    self->in_.append(self->read_buf_.data(), n);
    self->on_read(ec, n);
  });
}

void Connection::on_read(const error_code& ec, size_t) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    if (ec != asio::error::eof) {
      if (!control_) server_.log("read failed: " + ec.message());
      close(false);
      return;
    }
    eof_ = true;
    if (hung_) {
      close(false);
      return;
    }
    // A half-closed client still gets the answers to what it sent.
    process();
    if (!waiting_) close_after_flush_ = true;
    flush();
    return;
  }
  if (!control_ && server_.hooks().read_fails()) {
    server_.log("libfiu point " + server_.hooks().read_point() + " failed: closing the connection");
    ++server_.stats().connections_dropped;
    close(false);
    return;
  }
  if (hung_) {  // a hung request holds the connection; later input is read only to notice the close
    in_.clear();
    in_pos_ = 0;
    maybe_read();
    return;
  }
  process();
}

void Connection::process() {
  while (!closed_ && !waiting_ && !hung_ && !close_after_flush_ && in_pos_ < in_.size()) {
    Step step = session_->parse(std::string_view(in_).substr(in_pos_), out_);
    in_pos_ += step.consumed;
    if (step.kind == StepKind::kNeedMore) break;
    if (step.kind == StepKind::kReply) continue;
    if (step.kind == StepKind::kClose) {
      close_after_flush_ = true;
      break;
    }
    handle_request();
  }
  if (closed_) return;
  flush();
  maybe_read();
}

void Connection::handle_request() {
  if (control_) {
    session_->serve(out_);
    if (session_->close_after_response()) close_after_flush_ = true;
    return;
  }
  Stats& st = server_.stats();
  ++st.requests_received;
  if (broken_) {
    count_kinds(broken_->kinds);
    finish(*broken_);
    return;
  }
  RequestEffect effect = server_.hooks().on_request(session_->request_key());
  if (effect.empty()) {
    session_->serve(out_);
    ++st.requests_served;
    if (session_->close_after_response()) close_after_flush_ = true;
    return;
  }
  count_kinds(effect.kinds);
  if (effect.delay.count() > 0) {
    waiting_ = true;
    pending_ = effect;
    timer_.expires_after(effect.delay);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec || self->closed_) return;
      self->waiting_ = false;
      self->finish(self->pending_);
      if (self->closed_) return;
      self->process();
      if (self->eof_ && !self->waiting_ && !self->hung_) {
        self->close_after_flush_ = true;
        self->flush();
      }
    });
    return;
  }
  finish(effect);
}

void Connection::count_kinds(uint32_t kinds) {
  Stats& st = server_.stats();
  for (uint32_t bits = kinds, i = 0; bits; bits >>= 1, ++i)
    if (bits & 1u) ++st.by_kind[i];
}

void Connection::finish(const RequestEffect& effect) {
  Stats& st = server_.stats();
  switch (effect.terminal) {
    case RequestEffect::Terminal::kNone:
      session_->serve(out_);
      ++st.requests_served;
      if (session_->close_after_response()) close_after_flush_ = true;
      break;
    case RequestEffect::Terminal::kHang:
      hung_ = true;
      in_.clear();
      in_pos_ = 0;
      break;
    case RequestEffect::Terminal::kError:
      session_->fail(effect.error, out_);
      if (session_->close_after_response()) close_after_flush_ = true;
      break;
    case RequestEffect::Terminal::kPartial: {
      if (effect.partial.unit == PartialCut::Unit::kBytes) {
        // A raw cut, wherever it lands: the same for every protocol.
        std::string full;
        session_->serve(full);
        out_.append(full, 0, effect.partial.units_to_send(full.size()));
      } else {
        session_->serve_partial(effect.partial, out_);
      }
      close_after_flush_ = true;
      ++st.connections_dropped;
      break;
    }
    case RequestEffect::Terminal::kDrop:
      ++st.connections_dropped;
      close(effect.reset);
      break;
  }
}

void Connection::flush() {
  if (closed_ || writing_active_) return;
  if (out_.empty()) {
    if (close_after_flush_) graceful_close();
    return;
  }
  if (!control_ && server_.hooks().write_fails()) {
    server_.log("libfiu point " + server_.hooks().write_point() + " failed: closing the connection");
    ++server_.stats().connections_dropped;
    close(false);
    return;
  }
  writing_.swap(out_);
  out_.clear();
  writing_active_ = true;
  asio::async_write(socket_, asio::buffer(writing_), [self = shared_from_this()](const error_code& ec, size_t) {
    self->writing_active_ = false;
    self->writing_.clear();
    if (self->closed_) return;
    if (ec) {
      self->close(false);
      return;
    }
    self->flush();
    self->maybe_read();
  });
}

// ---- ControlSession -----------------------------------------------------------------------------

void ControlSession::serve(std::string& out) {
  const HttpRequest& r = parser_.request();
  ControlResponse resp = server_.api().handle(r.method, r.target, r.body);
  server_.faults_changed();
  append_http_response(out, resp.status, "application/json", resp.body, r.keep_alive);
}

// ---- Server -------------------------------------------------------------------------------------

bool Server::open_listener(uint16_t port, std::string* why) {
  error_code ec;
  tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(1024, ec);
  if (ec) {
    *why = ec.message();
    error_code ignored;
    acceptor_.close(ignored);
    return false;
  }
  port_ = acceptor_.local_endpoint().port();
  accept_service(listener_generation_);
  return true;
}

void Server::reopen_listener() {
  if (stopping_ || down_holds_ > 0 || acceptor_.is_open()) return;
  std::string why;
  if (open_listener(port_, &why)) {
    log("listener up again on port " + std::to_string(port_));
    return;
  }
  // Another process may hold the port for a moment; keep trying, the runner expects the same port.
  log("reopening port " + std::to_string(port_) + " failed (" + why + "), retrying in 50 ms");
  retry_timer_.expires_after(std::chrono::milliseconds(50));
  retry_timer_.async_wait([this](const error_code& ec) {
    if (!ec) reopen_listener();
  });
}

void Server::accept_service(uint64_t generation) {
  acceptor_.async_accept([this, generation](const error_code& ec, tcp::socket socket) {
    if (generation != listener_generation_ || !acceptor_.is_open() || stopping_) return;
    if (ec) {
      // EMFILE and friends: back off instead of spinning, then keep accepting.
      log("accept failed: " + ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(20));
      retry_timer_.async_wait([this, generation](const error_code& e) {
        if (!e && generation == listener_generation_ && acceptor_.is_open()) accept_service(generation);
      });
      return;
    }
    ++stats_.connections_accepted;
    bool reset = false;
    if (hooks_.drop_new_connection(&reset)) {
      ++stats_.connections_dropped;
      error_code ignored;
      if (reset) socket.set_option(asio::socket_base::linger(true, 0), ignored);
      socket.close(ignored);
    } else {
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      uint64_t id = next_conn_id_++;
      auto c = std::make_shared<Connection>(*this, std::move(socket), def_.make_session(), id, false);
      conns_.emplace(id, c);
      ++stats_.connections_open;
      c->start();
    }
    accept_service(generation);
  });
}

void Server::accept_control() {
  control_acceptor_.async_accept([this](const error_code& ec, tcp::socket socket) {
    if (stopping_ || !control_acceptor_.is_open()) return;
    if (!ec) {
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      uint64_t id = next_conn_id_++;
      auto c = std::make_shared<Connection>(*this, std::move(socket), std::make_unique<ControlSession>(*this), id, true);
      control_conns_.emplace(id, c);
      c->start();
    } else {
      log("control accept failed: " + ec.message());
    }
    accept_control();
  });
}

void Server::arm_fault_timer() {
  std::optional<TimePoint> next = faults_.update();
  if (!next) {
    fault_timer_.cancel();
    return;
  }
  fault_timer_.expires_at(asio::steady_timer::clock_type::time_point(next->time_since_epoch()));
  fault_timer_.async_wait([this](const error_code& ec) {
    if (!ec) arm_fault_timer();
  });
}

void Server::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  log("shutting down");
  error_code ec;
  acceptor_.close(ec);
  control_acceptor_.close(ec);
  fault_timer_.cancel();
  retry_timer_.cancel();
  faults_.clear();  // disables libfiu points, releases holds
  for (auto& c : snapshot()) c->close(false);
  std::vector<std::shared_ptr<Connection>> ctl;
  for (auto& [id, c] : control_conns_) ctl.push_back(c);
  for (auto& c : ctl) c->close(false);
  io_.stop();
}

void Server::hard_exit(int code) {
  // A crash skips destructors on purpose, but must not leave libfiu's fifos behind.
  if (!opt_.fiu_fifo.empty()) {
    std::string base = opt_.fiu_fifo + "-" + std::to_string(getpid());
    ::unlink((base + ".in").c_str());
    ::unlink((base + ".out").c_str());
  }
  std::fflush(stderr);
  std::fflush(stdout);
  ::_exit(code);
}

int Server::run() {
  fiu_init(0);
  if (!opt_.fiu_fifo.empty()) {
    if (fiu_rc_fifo(opt_.fiu_fifo.c_str()) != 0) {
      log("cannot create libfiu control fifo with base '" + opt_.fiu_fifo + "'");
      return 1;
    }
  }
  std::string why;
  if (!open_listener(opt_.port, &why)) {
    log("cannot listen on 127.0.0.1:" + std::to_string(opt_.port) + ": " + why);
    return 1;
  }
  {
    error_code ec;
    tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), opt_.control_port);
    control_acceptor_.open(ep.protocol(), ec);
    if (!ec) control_acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) control_acceptor_.bind(ep, ec);
    if (!ec) control_acceptor_.listen(64, ec);
    if (ec) {
      log("cannot listen for control on 127.0.0.1:" + std::to_string(opt_.control_port) + ": " + ec.message());
      return 1;
    }
    control_port_ = control_acceptor_.local_endpoint().port();
  }
  accept_control();
  signals_.async_wait([this](const error_code& ec, int sig) {
    if (!ec) {
      log("signal " + std::to_string(sig) + " received");
      shutdown();
    }
  });
  std::printf("{\"event\":\"ready\",\"service\":\"%s\",\"port\":%u,\"control_port\":%u,\"pid\":%d}\n",
              def_.service.c_str(), static_cast<unsigned>(port_), static_cast<unsigned>(control_port_),
              static_cast<int>(getpid()));
  std::fflush(stdout);
  log("ready on 127.0.0.1:" + std::to_string(port_) + ", control on 127.0.0.1:" + std::to_string(control_port_) +
      ", seed " + std::to_string(opt_.seed));
  io_.run();
  return 0;
}

}  // namespace

int run_mock(const MockDefinition& def, const MockOptions& options) {
  Server server(def, options);
  return server.run();
}

}  // namespace chaos::mocks
