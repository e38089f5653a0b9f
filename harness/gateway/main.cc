// `gateway`: the demo system under test. Parses argv (exit 2 on bad input), builds the real clients,
// serves HTTP on 127.0.0.1, prints one ready line, then stdout carries only the event stream
// (docs/EVENTS.md) and human logs go to stderr. SIGTERM / SIGINT exit 0 within a second.
#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "gateway/config.h"
#include "gateway/gateway.h"
#include "gateway/real_clients.h"
#include "resilience/events.h"
#include "resilience/scheduler.h"

namespace gw = chaos::gateway;
namespace rs = chaos::resilience;

namespace {

void reply(httplib::Response& res, const gw::HttpAnswer& a) {
  res.status = a.status;
  if (!a.served_by.empty()) res.set_header("X-Served-By", a.served_by);
  res.set_content(a.body, a.content_type.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  // Die with the harness: the parent-death signal, then a check for a parent that is already gone.
  pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) return 0;
  signal(SIGPIPE, SIG_IGN);

  gw::Options opt;
  try {
    opt = gw::parse_options(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const gw::ConfigError& e) {
    std::fprintf(stderr, "gateway: %s\n", e.what());
    return 2;
  }

  // Every thread created from here on inherits the blocked mask; one thread waits for the signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  chaos::SeededRandom random(opt.seed);
  rs::RealScheduler scheduler;
  rs::EventPublisher events(chaos::SteadyClock::instance(), "gateway");
  rs::Environment env;
  env.clock = &chaos::SteadyClock::instance();
  env.scheduler = &scheduler;
  env.random = &random;
  env.events = &events;

  gw::Dependencies deps;
  const gw::GatewayConfig& cfg = opt.config;
  if (opt.cache) deps.cache = gw::make_redis_cache(gw::client_settings(*opt.cache, cfg.cache, cfg.health));
  if (opt.db) deps.db = gw::make_postgres_db(gw::client_settings(*opt.db, cfg.db, cfg.health));
  if (opt.rpc) deps.rpc = gw::make_http_rpc(gw::client_settings(*opt.rpc, cfg.rpc, cfg.health));
  gw::Gateway gateway(cfg, std::move(deps), env);

  httplib::Server server;
  const size_t threads = cfg.server_threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_keep_alive_timeout(1);
  server.set_tcp_nodelay(true);  // small responses must not wait for Nagle (see http_rpc.cc)
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);

  auto timed = [&gateway](const std::string& route, auto&& fn) {
    return [&gateway, route, fn](const httplib::Request& req, httplib::Response& res) {
      auto start = std::chrono::steady_clock::now();
      gw::HttpAnswer a = fn(req);
      reply(res, a);
      if (route == "/item")
        gateway.record_request(route, a.status, a.served_by.empty() ? "primary" : a.served_by,
                               std::chrono::steady_clock::now() - start);
    };
  };
  server.Get(R"(/item/([^/?]*))", timed("/item", [&gateway](const httplib::Request& req) {
               bool bypass = req.has_param("cache") && req.get_param_value("cache") == "bypass";
               return gateway.get_item(req.matches[1].str(), bypass);
             }));
  server.Get("/health", timed("/health", [&gateway](const httplib::Request&) { return gateway.health(); }));
  server.Get("/metrics", timed("/metrics", [&gateway](const httplib::Request&) { return gateway.metrics(); }));

  int port = opt.port == 0 ? server.bind_to_any_port("127.0.0.1") : (server.bind_to_port("127.0.0.1", opt.port) ? opt.port : -1);
  if (port <= 0) {
    std::fprintf(stderr, "gateway: cannot listen on 127.0.0.1:%d\n", opt.port);
    return 3;
  }

  std::atomic<bool> stopping{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (sig == 0) return;  // woken by our own shutdown
    std::fprintf(stderr, "gateway: signal %d, stopping\n", sig);
    stopping = true;
    server.stop();
    // The exit deadline is 1 s: if in-flight work does not drain in time, leave without it.
    std::thread([] {
      std::this_thread::sleep_for(std::chrono::milliseconds(800));
      std::fflush(stdout);
      std::fflush(stderr);
      _exit(0);
    }).detach();
  });

  // One bounded attempt to create the data before declaring readiness: a reachable database then
  // holds every item when load starts; an unreachable one does not delay the start (the background
  // seeder keeps trying).
  if (opt.db) {
    auto seeded = gateway.seed_database(rs::Deadline::after(chaos::SteadyClock::instance(), std::chrono::seconds(2)));
    if (!seeded.ok())
      std::fprintf(stderr, "gateway: database not seeded yet (%s); retrying in the background\n",
                   rs::describe(seeded.error()).c_str());
    else
      std::fprintf(stderr, "gateway: database seeded\n");
  }
  // Warm pools before the ready line, so that the scenario's load does not pay for the connects.
  // Bounded like seeding; what is not open by then opens on demand as usual.
  for (const auto& line : gateway.prewarm_pools(rs::Deadline::after(chaos::SteadyClock::instance(), std::chrono::seconds(2))))
    std::fprintf(stderr, "gateway: prewarmed %s\n", line.c_str());
  std::printf("{\"event\":\"ready\",\"service\":\"gateway\",\"port\":%d,\"pid\":%d}\n", port, static_cast<int>(getpid()));
  std::fflush(stdout);
  // From here on, stdout is the event stream only; health checks start once it is attached so that
  // their first events are not lost.
  rs::JsonLinesSink::attach(events, stdout);
  gateway.start();
  std::fprintf(stderr, "gateway: listening on 127.0.0.1:%d (cache %s, db %s, rpc %s, seed %llu)\n", port,
               opt.cache ? opt.cache->text().c_str() : "-", opt.db ? opt.db->text().c_str() : "-",
               opt.rpc ? opt.rpc->text().c_str() : "-", static_cast<unsigned long long>(opt.seed));

  bool ok = server.listen_after_bind();
  if (!stopping) {
    std::fprintf(stderr, "gateway: the HTTP server stopped unexpectedly\n");
    pthread_kill(signal_thread.native_handle(), SIGTERM);
  }
  signal_thread.join();
  gateway.stop();
  std::fflush(stdout);
  return ok || stopping ? 0 : 1;
}
