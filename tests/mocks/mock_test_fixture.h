// Shared fixture for the mock integration tests: one fresh mock process per test, stopped and reaped
// in TearDown, with a control client bound to it.
#pragma once

#include "control_client.h"
#include "mock_process.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace chaos::mocks::testing {

// CHAOS_MOCK_BIN_DIR overrides the build's bin folder, e.g. to run the suite against wrapped
// (valgrind) or sanitizer builds of the mocks.
inline std::string mock_binary(const std::string& name) {
  const char* dir = std::getenv("CHAOS_MOCK_BIN_DIR");
  return std::string(dir && *dir ? dir : CHAOS_BIN_DIR) + "/" + name;
}

class MockFixture : public ::testing::Test {
 protected:
  // Starts the mock; fails the test (fatally) if it does not become ready.
  void launch(const std::string& binary, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {mock_binary(binary), "--seed", "42", "--name", "test"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    mock_ = std::make_unique<MockProcess>(argv);
    ASSERT_TRUE(mock_->ready()) << mock_->error();
    control_ = std::make_unique<ControlClient>(mock_->control_port());
  }
  void TearDown() override {
    if (mock_ && HasFailure()) std::cerr << "--- mock stderr ---\n" << mock_->stderr_text();
    mock_.reset();  // SIGTERM, SIGKILL if needed, reaped
  }
  int port() const { return mock_->port(); }
  ControlClient& control() { return *control_; }
  MockProcess& mock() { return *mock_; }

  std::unique_ptr<MockProcess> mock_;
  std::unique_ptr<ControlClient> control_;
};

}  // namespace chaos::mocks::testing
