// The proxy runtime: Boost.Asio, one io_context on one thread. A Link is one proxied connection (client
// socket + upstream socket) with two Pipes, one per direction; each pipe reads a chunk, lets the
// attached toxics shape it, queues the pieces with their send times (bounded) and writes them when due.
// The control API is served from the same loop, so the fault table needs no locks.
#include "proxy/proxy_server.h"

#include "proxy/control_api.h"
#include "proxy/fault_table.h"
#include "proxy/stats.h"

#include "core/http.h"  // mocks/core: the HTTP/1.1 request parser the mocks' control API uses

#include <boost/asio.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <deque>
#include <unistd.h>
#include <unordered_map>

namespace chaos::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kMaxQueuedBytes = 1024 * 1024;  // per direction: reading pauses beyond it
constexpr size_t kMaxBatchBuffers = 64;
constexpr size_t kMaxBatchBytes = 256 * 1024;
constexpr auto kConnectTimeout = std::chrono::seconds(10);

asio::steady_timer::time_point to_asio(TimePoint t) { return asio::steady_timer::time_point(t.time_since_epoch()); }

class Server;
class Link;

class AsioTimerHandle final : public TimerHandle {
 public:
  explicit AsioTimerHandle(asio::any_io_executor ex) : timer(ex), alive(std::make_shared<bool>(true)) {}
  ~AsioTimerHandle() override {
    *alive = false;
    timer.cancel();
  }
  asio::steady_timer timer;
  std::shared_ptr<bool> alive;  // an expired wait may already be queued; cancel() cannot stop it
};

class Pipe final : public LinkEnv {
 public:
  Pipe(Link& link, Direction dir, tcp::socket& src, tcp::socket& dst);

  void start();
  void refresh();  // re-attaches toxics if the set of active faults changed
  void stop();
  bool eof_forwarded() const { return eof_forwarded_; }

  // LinkEnv
  const Clock& clock() const override { return SteadyClock::instance(); }
  Random& rng() override;
  Direction direction() const override { return dir_; }
  std::unique_ptr<TimerHandle> after(Duration delay, std::function<void()> fn) override;
  void close_connection(bool reset_client, bool reset_upstream) override;

 private:
  struct Segment {
    enum class Kind { kData, kEof, kClose };
    Kind kind;
    TimePoint at;
    std::shared_ptr<const std::string> buf;
    size_t begin = 0, end = 0;
  };
  struct Attached {
    uint64_t serial;
    std::unique_ptr<LinkToxic> toxic;  // null: the probability draw said no for this link
  };

  void read();
  Duration close_delay() const;  // the longest slow_close among this direction's faults
  void on_read(const error_code& ec, size_t n);
  void enqueue(Segment s);
  void pump();
  void on_written(const error_code& ec, size_t n);

  Link& link_;
  Direction dir_;
  tcp::socket& src_;
  tcp::socket& dst_;
  asio::steady_timer timer_;
  std::optional<TimePoint> timer_at_;
  std::array<char, kReadChunk> buf_;
  std::deque<Segment> queue_;
  size_t queued_bytes_ = 0;
  TimePoint last_at_{};
  std::vector<asio::const_buffer> batch_;
  size_t batch_segments_ = 0;
  bool started_ = false, reading_ = false, writing_ = false, src_eof_ = false, eof_forwarded_ = false,
       held_ = false, stopped_ = false,
       direct_ = false,   // a write from buf_ is in flight: no read into it meanwhile
       shaping_ = false;  // at least one attached toxic (a lost probability draw attaches none)
  std::vector<Attached> toxics_;
  uint64_t generation_ = ~uint64_t{0};
};

class Link : public std::enable_shared_from_this<Link> {
 public:
  Link(Server& server, tcp::socket client, uint64_t id);
  void start();
  // Closes both sockets (RST for a side whose flag is set, FIN otherwise) and forgets the link.
  void close(bool reset_client, bool reset_upstream);
  void refresh() {
    if (!connected_ || closed_) return;
    up_.refresh();
    down_.refresh();
  }
  void direction_done() {
    if (up_.eof_forwarded() && down_.eof_forwarded()) close(false, false);
  }
  bool closed() const { return closed_; }
  uint64_t id() const { return id_; }
  Server& server() { return server_; }

 private:
  Server& server_;
  uint64_t id_;
  tcp::socket client_, upstream_;
  asio::steady_timer connect_timer_;
  Pipe up_, down_;  // after the sockets they refer to
  bool connected_ = false, closed_ = false;
};

// Control API over HTTP/1.1 with keep-alive, one request at a time per connection.
class ControlConn : public std::enable_shared_from_this<ControlConn> {
 public:
  ControlConn(Server& server, tcp::socket socket, uint64_t id)
      : server_(server), socket_(std::move(socket)), parser_(ControlApi::kMaxBody), id_(id) {}
  void start() { read(); }
  void close();

 private:
  void read();
  void process();
  Server& server_;
  tcp::socket socket_;
  mocks::HttpRequestParser parser_;
  uint64_t id_;
  std::array<char, 8192> buf_;
  std::string in_, out_;
  bool closed_ = false, close_after_write_ = false;
};

class Server final : public ProxyControl {
 public:
  explicit Server(const ProxyOptions& opt)
      : opt_(opt), rng_(opt.seed), faults_(SteadyClock::instance(), rng_, *this),
        api_(opt.name, opt.upstream_host + ":" + std::to_string(opt.upstream_port), faults_, stats_),
        acceptor_(io_), control_acceptor_(io_), fault_timer_(io_), retry_timer_(io_), signals_(io_, SIGTERM, SIGINT) {
    label_ = "fault-proxy" + (opt.name.empty() ? "" : "[" + opt.name + "]");
  }
  ~Server() override {
    stopping_ = true;
    faults_.clear();
  }

  int run();

  // ProxyControl
  void hold_listener_down() override {
    if (down_holds_++ == 0) {
      ++listener_generation_;
      error_code ec;
      acceptor_.close(ec);
      retry_timer_.cancel();
      log("listener down (port " + std::to_string(port_) + ")");
    }
  }
  void release_listener_down() override {
    if (down_holds_ > 0 && --down_holds_ == 0) reopen_listener();
  }
  void drop_open_connections() override {
    auto all = snapshot();
    for (auto& l : all) l->close(false, false);
    log("dropped " + std::to_string(all.size()) + " open connection(s)");
  }
  void log(const std::string& line) override { std::fprintf(stderr, "[%s] %s\n", label_.c_str(), line.c_str()); }

  // Used by links and control connections.
  asio::io_context& io() { return io_; }
  ProxyFaultTable& faults() { return faults_; }
  ProxyStats& stats() { return stats_; }
  ControlApi& api() { return api_; }
  Random& rng() { return rng_; }
  const tcp::resolver::results_type& upstream() const { return upstream_; }
  void forget(const Link& l) {
    if (links_.erase(l.id())) {
      --stats_.connections_open;
      ++stats_.connections_closed;
    }
  }
  void forget(uint64_t control_id) { control_conns_.erase(control_id); }
  // After the control API or a timer changed the fault table: re-arm the timer, re-attach links.
  void faults_changed();

 private:
  std::vector<std::shared_ptr<Link>> snapshot() {
    std::vector<std::shared_ptr<Link>> v;
    v.reserve(links_.size());
    for (auto& [id, l] : links_) v.push_back(l);
    return v;
  }
  bool open_listener(uint16_t port, std::string* why);
  void reopen_listener();
  void accept_proxy(uint64_t generation);
  void accept_control();
  void shutdown();

  const ProxyOptions& opt_;
  std::string label_;
  asio::io_context io_{1};
  SeededRandom rng_;
  ProxyStats stats_;
  ProxyFaultTable faults_;
  ControlApi api_;
  tcp::acceptor acceptor_, control_acceptor_;
  asio::steady_timer fault_timer_, retry_timer_;
  asio::signal_set signals_;
  tcp::resolver::results_type upstream_;
  uint16_t port_ = 0, control_port_ = 0;
  int down_holds_ = 0;
  uint64_t listener_generation_ = 0, applied_generation_ = ~uint64_t{0}, next_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<Link>> links_;
  std::unordered_map<uint64_t, std::shared_ptr<ControlConn>> control_conns_;
  bool stopping_ = false;
};

// ---- Pipe ---------------------------------------------------------------------------------------

Pipe::Pipe(Link& link, Direction dir, tcp::socket& src, tcp::socket& dst)
    : link_(link), dir_(dir), src_(src), dst_(dst), timer_(src.get_executor()) {}

Random& Pipe::rng() { return link_.server().rng(); }

std::unique_ptr<TimerHandle> Pipe::after(Duration delay, std::function<void()> fn) {
  auto h = std::make_unique<AsioTimerHandle>(timer_.get_executor());
  h->timer.expires_after(delay);
  std::weak_ptr<Link> weak = link_.shared_from_this();
  h->timer.async_wait([weak, alive = h->alive, fn = std::move(fn)](const error_code& ec) {
    if (ec || !*alive) return;
    auto link = weak.lock();
    if (!link || link->closed()) return;
    fn();
  });
  return h;
}

void Pipe::close_connection(bool reset_client, bool reset_upstream) { link_.close(reset_client, reset_upstream); }

void Pipe::start() {
  started_ = true;
  refresh();
  read();
}

void Pipe::stop() {
  stopped_ = true;
  timer_.cancel();
  // Timer handles of toxics cancel themselves; their callbacks own their functions, so clearing here
  // is safe even when a toxic's own timer is what closed the link.
  toxics_.clear();
  shaping_ = false;
}

void Pipe::refresh() {
  if (!started_ || stopped_) return;
  ProxyFaultTable& table = link_.server().faults();
  if (generation_ == table.generation()) return;
  generation_ = table.generation();
  std::vector<Attached> next;
  for (const ActiveFault& f : table.active_for(dir_)) {
    auto it = std::find_if(toxics_.begin(), toxics_.end(), [&](const Attached& a) { return a.serial == f.serial; });
    if (it != toxics_.end()) {
      next.push_back(std::move(*it));
      continue;
    }
    Attached a{f.serial, nullptr};
    if (table.draw(f.common->probability)) {
      ++table.applied()[static_cast<size_t>(f.kind_index)];
      a.toxic = f.kind->attach(*this);
    }
    next.push_back(std::move(a));
  }
  toxics_ = std::move(next);  // faults no longer active are detached (their timers cancelled) here
  bool was_held = held_;
  held_ = std::any_of(toxics_.begin(), toxics_.end(), [](const Attached& a) { return a.toxic && a.toxic->holds_data(); });
  shaping_ = std::any_of(toxics_.begin(), toxics_.end(), [](const Attached& a) { return a.toxic != nullptr; });
  if (was_held && !held_) {
    pump();
    read();
  }
}

Duration Pipe::close_delay() const {
  Duration delay{0};
  for (const auto& a : toxics_)
    if (a.toxic) delay = std::max(delay, a.toxic->close_delay());
  return delay;
}

void Pipe::read() {
  if (reading_ || direct_ || src_eof_ || held_ || stopped_ || queued_bytes_ >= kMaxQueuedBytes) return;
  reading_ = true;
  src_.async_read_some(asio::buffer(buf_), [self = link_.shared_from_this(), this](const error_code& ec, size_t n) {
    on_read(ec, n);
  });
}

void Pipe::on_read(const error_code& ec, size_t n) {
  reading_ = false;
  if (stopped_) return;
  if (ec) {
    if (ec == asio::error::eof) {
      src_eof_ = true;
      enqueue({Segment::Kind::kEof, clock().now() + close_delay(), nullptr, 0, 0});
      pump();
      return;
    }
    // The source broke (reset, or worse): pass a reset on to the other side, as the network would.
    bool reset = ec == asio::error::connection_reset;
    link_.close(reset && dir_ == Direction::kDownstream, reset && dir_ == Direction::kUpstream);
    return;
  }
  if (!shaping_ && queue_.empty() && !writing_) {
    // The fast path with no fault attached: write straight from the read buffer (no copy, no queue),
    // first synchronously on the non-blocking socket (no completion to post, hence no extra trip
    // through the reactor), the rest, if the socket is full, asynchronously; read again once written.
    error_code wec;
    size_t written = dst_.write_some(asio::buffer(buf_.data(), n), wec);
    if (wec && wec != asio::error::would_block && wec != asio::error::try_again) {
      link_.close(false, false);
      return;
    }
    if (wec) written = 0;
    ProxyStats& st = link_.server().stats();
    (dir_ == Direction::kUpstream ? st.bytes_upstream : st.bytes_downstream) += written;
    if (written == n) {
      read();
      return;
    }
    writing_ = direct_ = true;
    asio::async_write(dst_, asio::buffer(buf_.data() + written, n - written),
                      [self = link_.shared_from_this(), this](const error_code& e, size_t w) {
                        direct_ = false;
                        on_written(e, w);
                      });
    return;
  }
  auto data = std::make_shared<const std::string>(buf_.data(), n);
  TimePoint now = clock().now();
  if (!shaping_) {
    enqueue({Segment::Kind::kData, now, data, 0, n});
  } else {
    Chunk chunk;
    chunk.data = *data;
    chunk.pieces.push_back({0, n, now});
    for (auto& a : toxics_) {
      if (a.toxic) a.toxic->shape(chunk, *this);
      if (stopped_) return;
    }
    for (const auto& p : chunk.pieces)
      if (p.size() > 0) enqueue({Segment::Kind::kData, p.at, data, p.begin, p.end});
    if (chunk.close_after) {
      // A close a fault makes (limit_data) reaches the other side like any close: late under slow_close.
      enqueue({Segment::Kind::kClose, (chunk.pieces.empty() ? now : chunk.pieces.back().at) + close_delay(), nullptr, 0, 0});
      src_eof_ = true;  // nothing more is read from this source
    }
  }
  pump();
  read();
}

void Pipe::enqueue(Segment s) {
  // Order is kept: a piece never leaves before the one in front of it.
  if (s.at < last_at_) s.at = last_at_;
  last_at_ = s.at;
  queued_bytes_ += s.end - s.begin;
  queue_.push_back(std::move(s));
}

void Pipe::pump() {
  if (stopped_ || writing_ || held_ || queue_.empty()) return;
  TimePoint now = clock().now();
  batch_.clear();
  size_t bytes = 0;
  for (auto it = queue_.begin(); it != queue_.end() && it->kind == Segment::Kind::kData && it->at <= now &&
                                 batch_.size() < kMaxBatchBuffers && bytes < kMaxBatchBytes;
       ++it) {
    batch_.push_back(asio::buffer(it->buf->data() + it->begin, it->end - it->begin));
    bytes += it->end - it->begin;
  }
  if (!batch_.empty()) {
    batch_segments_ = batch_.size();
    writing_ = true;
    asio::async_write(dst_, batch_, [self = link_.shared_from_this(), this](const error_code& ec, size_t n) {
      on_written(ec, n);
    });
    return;
  }
  const Segment& head = queue_.front();
  if (head.at > now) {
    if (timer_at_ && *timer_at_ == head.at) return;
    timer_at_ = head.at;
    timer_.expires_at(to_asio(head.at));
    timer_.async_wait([self = link_.shared_from_this(), this](const error_code& ec) {
      if (ec == asio::error::operation_aborted || stopped_) return;
      timer_at_.reset();
      pump();
    });
    return;
  }
  if (head.kind == Segment::Kind::kClose) {
    link_.close(false, false);
    return;
  }
  // kEof: forward the half-close; the link closes once both directions have done so.
  queue_.pop_front();
  eof_forwarded_ = true;
  error_code ignored;
  dst_.shutdown(tcp::socket::shutdown_send, ignored);
  link_.direction_done();
}

void Pipe::on_written(const error_code& ec, size_t n) {
  writing_ = false;
  if (stopped_) return;
  if (ec) {
    link_.close(false, false);
    return;
  }
  for (size_t i = 0; i < batch_segments_; ++i) {  // 0 after a direct write
    queued_bytes_ -= queue_.front().end - queue_.front().begin;
    queue_.pop_front();
  }
  batch_.clear();
  batch_segments_ = 0;
  ProxyStats& st = link_.server().stats();
  (dir_ == Direction::kUpstream ? st.bytes_upstream : st.bytes_downstream) += n;
  pump();
  read();
}

// ---- Link ---------------------------------------------------------------------------------------

Link::Link(Server& server, tcp::socket client, uint64_t id)
    : server_(server), id_(id), client_(std::move(client)), upstream_(server.io()), connect_timer_(server.io()),
      up_(*this, Direction::kUpstream, client_, upstream_), down_(*this, Direction::kDownstream, upstream_, client_) {}

void Link::start() {
  connect_timer_.expires_after(kConnectTimeout);
  connect_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->connected_ || self->closed_) return;
    self->server_.log("upstream connect timed out");
    ++self->server_.stats().upstream_connect_failures;
    self->close(false, false);
  });
  asio::async_connect(upstream_, server_.upstream(),
                      [self = shared_from_this()](const error_code& ec, const tcp::endpoint&) {
                        if (self->closed_) return;
                        if (ec) {
                          ++self->server_.stats().upstream_connect_failures;
                          self->server_.log("upstream connect failed: " + ec.message());
                          self->close(false, false);
                          return;
                        }
                        self->connected_ = true;
                        self->connect_timer_.cancel();
                        error_code ignored;
                        self->upstream_.set_option(tcp::no_delay(true), ignored);
                        // Synchronous writes on the fast path must never block the event loop.
                        self->upstream_.non_blocking(true, ignored);
                        self->client_.non_blocking(true, ignored);
                        self->up_.start();
                        self->down_.start();
                      });
}

void Link::close(bool reset_client, bool reset_upstream) {
  if (closed_) return;
  closed_ = true;
  connect_timer_.cancel();
  up_.stop();
  down_.stop();
  auto end = [](tcp::socket& s, bool reset) {
    error_code ec;
    if (!s.is_open()) return;
    if (reset) {
      s.set_option(asio::socket_base::linger(true, 0), ec);
    } else {
      s.shutdown(tcp::socket::shutdown_both, ec);
    }
    s.close(ec);
  };
  end(client_, reset_client);
  end(upstream_, reset_upstream);
  server_.forget(*this);  // may drop the last owner; `this` lives on in pending handlers only
}

// ---- ControlConn --------------------------------------------------------------------------------

void ControlConn::close() {
  if (closed_) return;
  closed_ = true;
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  server_.forget(id_);
}

void ControlConn::read() {
  if (closed_) return;
  socket_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](const error_code& ec, size_t n) {
    if (self->closed_) return;
    if (ec) {
      self->close();
      return;
    }
    self->in_.append(self->buf_.data(), n);
    self->process();
  });
}

void ControlConn::process() {
  while (!in_.empty() && !close_after_write_) {
    size_t used = 0;
    auto r = parser_.feed(in_, &used);
    in_.erase(0, used);
    if (r == mocks::HttpRequestParser::Result::kNeedMore) {
      if (parser_.wants_continue()) out_ += mocks::kHttpContinue;
      break;
    }
    if (r == mocks::HttpRequestParser::Result::kError) {
      mocks::append_http_response(out_, parser_.error_status(), "application/json",
                                  nlohmann::json{{"error", parser_.error_message()}}.dump(), false);
      close_after_write_ = true;
      break;
    }
    const mocks::HttpRequest& req = parser_.request();
    ControlResponse resp = server_.api().handle(req.method, req.target, req.body);
    server_.faults_changed();
    mocks::append_http_response(out_, resp.status, "application/json", resp.body, req.keep_alive);
    if (!req.keep_alive) close_after_write_ = true;
  }
  if (out_.empty()) {
    read();
    return;
  }
  auto out = std::make_shared<std::string>(std::move(out_));
  out_.clear();
  asio::async_write(socket_, asio::buffer(*out), [self = shared_from_this(), out](const error_code& ec, size_t) {
    if (self->closed_) return;
    if (ec || self->close_after_write_) {
      self->close();
      return;
    }
    self->process();
  });
}

// ---- Server -------------------------------------------------------------------------------------

void Server::faults_changed() {
  std::optional<TimePoint> next = faults_.update();
  if (faults_.generation() != applied_generation_) {
    applied_generation_ = faults_.generation();
    for (auto& l : snapshot()) l->refresh();
  }
  if (!next) {
    fault_timer_.cancel();
    return;
  }
  fault_timer_.expires_at(to_asio(*next));
  fault_timer_.async_wait([this](const error_code& ec) {
    if (!ec) faults_changed();
  });
}

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
  accept_proxy(listener_generation_);
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

void Server::accept_proxy(uint64_t generation) {
  acceptor_.async_accept([this, generation](const error_code& ec, tcp::socket socket) {
    if (generation != listener_generation_ || !acceptor_.is_open() || stopping_) return;
    if (ec) {
      // EMFILE and friends: back off instead of spinning, then keep accepting.
      log("accept failed: " + ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(20));
      retry_timer_.async_wait([this, generation](const error_code& e) {
        if (!e && generation == listener_generation_ && acceptor_.is_open()) accept_proxy(generation);
      });
      return;
    }
    ++stats_.connections_accepted;
    if (links_.size() >= opt_.max_connections) {
      // A flood is bounded: beyond the limit a client is closed at once instead of queueing.
      ++stats_.connections_rejected;
      error_code ignored;
      socket.close(ignored);
    } else {
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      uint64_t id = next_id_++;
      auto link = std::make_shared<Link>(*this, std::move(socket), id);
      links_.emplace(id, link);
      ++stats_.connections_open;
      link->start();
    }
    accept_proxy(generation);
  });
}

void Server::accept_control() {
  control_acceptor_.async_accept([this](const error_code& ec, tcp::socket socket) {
    if (stopping_ || !control_acceptor_.is_open()) return;
    if (!ec) {
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      uint64_t id = next_id_++;
      auto c = std::make_shared<ControlConn>(*this, std::move(socket), id);
      control_conns_.emplace(id, c);
      c->start();
      accept_control();
    } else {
      log("control accept failed: " + ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(20));
      retry_timer_.async_wait([this](const error_code& e) {
        if (!e) accept_control();
      });
    }
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
  faults_.clear();
  for (auto& l : snapshot()) l->close(false, false);
  std::vector<std::shared_ptr<ControlConn>> ctl;
  for (auto& [id, c] : control_conns_) ctl.push_back(c);
  for (auto& c : ctl) c->close();
  io_.stop();
}

int Server::run() {
  {
    error_code ec;
    tcp::resolver resolver(io_);
    upstream_ = resolver.resolve(opt_.upstream_host, std::to_string(opt_.upstream_port), ec);
    if (ec || upstream_.empty()) {
      log("cannot resolve upstream " + opt_.upstream_host + ":" + std::to_string(opt_.upstream_port) + ": " +
          ec.message());
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
  std::printf("{\"event\":\"ready\",\"service\":\"fault-proxy\",\"port\":%u,\"control_port\":%u,\"pid\":%d}\n",
              static_cast<unsigned>(port_), static_cast<unsigned>(control_port_), static_cast<int>(getpid()));
  std::fflush(stdout);
  log("ready on 127.0.0.1:" + std::to_string(port_) + " -> " + opt_.upstream_host + ":" +
      std::to_string(opt_.upstream_port) + ", control on 127.0.0.1:" + std::to_string(control_port_) + ", seed " +
      std::to_string(opt_.seed));
  io_.run();
  return 0;
}

}  // namespace

int run_proxy(const ProxyOptions& options) {
  Server server(options);
  return server.run();
}

}  // namespace chaos::proxy
