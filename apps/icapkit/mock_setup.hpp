#pragma once
// The mock ICAP engine as `icapkit serve` configures it: a vendor personality, a scenario and the
// vendor's services. Shared by `icapkit serve` and the built-in test engine of `icapkit scan`.
#include "icapkit/codec/message.hpp"
#include "icapkit/mock/mock_service.hpp"
#include "icapkit/server/server.hpp"
#include "icapkit/server/service.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace icapkit::app {

struct mock_setup_options {
  std::string vendor = "opswat"; // opswat, lastline or generic
  std::string blocking_mode = "MANAGER-KNOWN";
  std::chrono::milliseconds analysis_time{2000};
  std::size_t max_connections = 0; // advertised in OPTIONS; 0: the server's
  std::vector<std::string> extra_services;
  std::string scenario_file; // empty: built-in detection only
  std::size_t spool_memory_limit = 64 * 1024;
};

struct mock_setup {
  std::shared_ptr<mock::mock_context> context;
  server::trickle_options trickle; // the scenario's; the server engine does the trickling
  std::vector<std::shared_ptr<server::service>> services;
};

// Builds the engine's context and services. Returns an empty string on success, else one line
// naming the flag at fault ("--scenario FILE: ...", "--service: ...", an unknown vendor).
std::string build_mock(const mock_setup_options& options, mock_setup& out);

// icapkit's built-in test engine: the mock server of `icapkit serve`, in-process on an ephemeral
// loopback port with one worker thread, for `icapkit scan` run without --server or --profile.
class builtin_engine {
public:
  builtin_engine() = default;
  ~builtin_engine(); // stop()
  builtin_engine(const builtin_engine&) = delete;
  builtin_engine& operator=(const builtin_engine&) = delete;

  // Builds the engine and starts listening on 127.0.0.1:0. Returns an empty string on success,
  // else one line saying why it could not start.
  std::string start(const mock_setup_options& options);
  // icap://127.0.0.1:PORT/NAME of the vendor's first service that offers `mode`.
  std::string service_url(codec::icap_method mode) const;
  std::string_view vendor() const;
  // Closes the listener and the connections and joins the worker. Idempotent.
  void stop();

private:
  mock_setup mock_;
  std::unique_ptr<server::server> server_;
  std::string address_; // "127.0.0.1:PORT"
};

} // namespace icapkit::app
