// The fault checks the runtime makes on every service connection and request, in one place: the libfiu
// points mock/<svc>/accept|read|handle|write and the fault table. server.cc calls only these, so the
// fault-layer benchmark (mocks/bench/fault_layer_bench.cc) times exactly the path a request takes
// when no fault matches, not a copy of it. Inline: they run on every read, request and write.
#pragma once

#include "core/fault_table.h"

#include <fiu-local.h>

#include <string>
#include <string_view>

namespace chaos::mocks {

class FaultHooks {
 public:
  FaultHooks(FaultTable& table, const std::string& fiu_prefix)
      : table_(table), accept_(fiu_prefix + "/accept"), read_(fiu_prefix + "/read"), handle_(fiu_prefix + "/handle"),
        write_(fiu_prefix + "/write") {}

  // Right after accept: true = close the new connection at once (*reset: with RST).
  bool drop_new_connection(bool* reset) {
    if (fiu_fail(accept_.c_str())) {
      *reset = false;
      return true;
    }
    return table_.drop_new_connection(reset);
  }
  // After each successful read / before each write on a service connection: true = close it.
  bool read_fails() const { return fiu_fail(read_.c_str()) != 0; }
  bool write_fails() const { return fiu_fail(write_.c_str()) != 0; }

  // What the faults decide for one request (on a connection no stateful fault has broken). Empty =
  // serve it normally, the common case.
  RequestEffect on_request(std::string_view key) {
    if (fiu_fail(handle_.c_str())) return handle_point_failed();
    return table_.evaluate(key);
  }

  const std::string& read_point() const { return read_; }
  const std::string& write_point() const { return write_; }

 private:
  RequestEffect handle_point_failed() const {
    RequestEffect e;
    e.terminal = RequestEffect::Terminal::kError;
    e.error.status = 500;
    e.error.message = "libfiu point " + handle_ + " failed";
    return e;
  }

  FaultTable& table_;
  std::string accept_, read_, handle_, write_;
};

}  // namespace chaos::mocks
