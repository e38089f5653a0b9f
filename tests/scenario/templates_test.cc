// Template scanning and resolution, shared by the validator and the runner.
#include "scenario/templates.h"

#include <gtest/gtest.h>

using namespace chaos::scenario;

namespace {

TEST(Templates, FindsEveryReferenceAndSkipsDollarEscapes) {
  auto scan = find_templates("a ${services.db.port} $${not} ${sut.port}");
  ASSERT_TRUE(scan.error.empty());
  ASSERT_EQ(scan.refs.size(), 2u);
  EXPECT_EQ(scan.refs[0].expr, "services.db.port");
  EXPECT_EQ(scan.refs[0].offset, 2u);
  EXPECT_EQ(scan.refs[1].expr, "sut.port");
}

TEST(Templates, ReportsAnUnterminatedReference) {
  auto scan = find_templates("x ${sut.port");
  EXPECT_NE(scan.error.find("unterminated"), std::string::npos);
  EXPECT_EQ(scan.error_offset, 2u);
}

TEST(Templates, ChecksExpressions) {
  EXPECT_EQ(check_template_expr("services.db.control_port"), "");
  EXPECT_EQ(check_template_expr("bin.dir"), "");
  EXPECT_NE(check_template_expr("services.db.host").find("expected port, control_port or pid"), std::string::npos);
  EXPECT_NE(check_template_expr("sut.host").find("unknown template"), std::string::npos);
}

TEST(Templates, ResolvesWithALookupAndNamesTheMissingOne) {
  auto lookup = [](const std::string& e) -> std::optional<std::string> {
    if (e == "sut.port") return "8080";
    return std::nullopt;
  };
  EXPECT_EQ(resolve_templates("http://127.0.0.1:${sut.port}/$$x", lookup), "http://127.0.0.1:8080/$x");
  std::string err;
  EXPECT_FALSE(resolve_templates("${bin.dir}/x", lookup, &err));
  EXPECT_NE(err.find("${bin.dir}"), std::string::npos);
}

}  // namespace
