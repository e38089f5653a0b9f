// fault-proxy's flags: the mocks' flags plus --upstream and --max-connections, with errors that say
// what was expected.
#include "proxy/proxy_options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chaos::proxy {
namespace {

std::optional<ProxyOptions> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "fault-proxy");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_proxy_options(static_cast<int>(argv.size()), argv.data());
}

TEST(ProxyOptions, ParsesEveryFlagInBothSpellings) {
  auto o = parse({"--port", "7000", "--control-port=7001", "--upstream", "localhost:6379", "--seed", "9", "--name=a",
                  "--max-connections", "10"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->port, 7000);
  EXPECT_EQ(o->control_port, 7001);
  EXPECT_EQ(o->upstream_host, "localhost");
  EXPECT_EQ(o->upstream_port, 6379);
  EXPECT_EQ(o->seed, 9u);
  EXPECT_EQ(o->name, "a");
  EXPECT_EQ(o->max_connections, 10u);
}

TEST(ProxyOptions, DefaultsAreEphemeralPortsAndSeedOne) {
  auto o = parse({"--upstream", "127.0.0.1:5432"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->port, 0);
  EXPECT_EQ(o->control_port, 0);
  EXPECT_EQ(o->seed, 1u);
  EXPECT_EQ(o->max_connections, 4096u);
}

TEST(ProxyOptions, BracketedIpv6UpstreamLosesItsBrackets) {
  auto o = parse({"--upstream", "[::1]:6379"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->upstream_host, "::1");
}

TEST(ProxyOptions, RejectsMissingOrMalformedValues) {
  EXPECT_FALSE(parse({}));                                   // --upstream is required
  EXPECT_FALSE(parse({"--upstream", "6379"}));               // no host
  EXPECT_FALSE(parse({"--upstream", "host:0"}));             // port 0
  EXPECT_FALSE(parse({"--upstream", "host:70000"}));
  EXPECT_FALSE(parse({"--upstream", "h:1", "--port", "-1"}));
  EXPECT_FALSE(parse({"--upstream", "h:1", "--seed", "x"}));
  EXPECT_FALSE(parse({"--upstream", "h:1", "--max-connections", "0"}));
  EXPECT_FALSE(parse({"--upstream", "h:1", "--bogus", "1"}));
  EXPECT_FALSE(parse({"--upstream"}));                       // flag without value
  EXPECT_FALSE(parse({"stray"}));
}

}  // namespace
}  // namespace chaos::proxy
