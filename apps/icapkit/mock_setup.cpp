#include "mock_setup.hpp"

#include "icapkit/mock/personality.hpp"
#include "icapkit/mock/scenario.hpp"

#include <algorithm>
#include <stdexcept>

namespace icapkit::app {

std::string build_mock(const mock_setup_options& options, mock_setup& out) {
  mock::personality_options p;
  p.blocking_mode = options.blocking_mode;
  p.analysis_time = options.analysis_time;
  if (options.max_connections > 0) {
    p.max_connections = options.max_connections;
  }
  try {
    auto vendor = std::shared_ptr<mock::personality>(mock::make_personality(options.vendor, p));
    auto rules = options.scenario_file.empty() ? mock::scenario{}
                                               : mock::load_scenario(options.scenario_file);
    out.trickle = rules.trickle;
    out.context = std::make_shared<mock::mock_context>(std::move(vendor), std::move(rules));
  } catch (const std::invalid_argument& e) {
    return e.what();
  } catch (const mock::scenario_error& e) {
    return std::string("--scenario ") + e.what();
  }
  out.context->spool_memory_limit = options.spool_memory_limit;
  try {
    out.services = mock::make_services(out.context, options.extra_services);
  } catch (const std::invalid_argument& e) {
    return std::string("--service: ") + e.what();
  }
  return {};
}

builtin_engine::~builtin_engine() {
  stop();
}

std::string builtin_engine::start(const mock_setup_options& options) {
  server::server_options s;
  s.listen = {"127.0.0.1:0"};
  s.threads = 1;
  // The scan is over when stop() is called: a connection still held by a scenario fault (stall)
  // is not worth waiting for.
  s.stop_grace = std::chrono::milliseconds{500};
  auto m = options;
  m.spool_memory_limit = s.spool_memory_limit;
  if (auto error = build_mock(m, mock_); !error.empty()) {
    return error;
  }
  s.trickle = mock_.trickle;
  auto srv = std::make_unique<server::server>(std::move(s));
  for (const auto& svc : mock_.services) {
    srv->add_service(svc);
  }
  std::string detail;
  if (const auto ec = srv->start(detail)) {
    return "the built-in test engine cannot start: " + (detail.empty() ? "" : detail + ": ") +
           ec.message();
  }
  const auto addresses = srv->bound_addresses();
  if (addresses.empty()) {
    srv->stop();
    return "the built-in test engine cannot start: no listener was bound";
  }
  address_ = addresses.front();
  server_ = std::move(srv);
  return {};
}

std::string builtin_engine::service_url(codec::icap_method mode) const {
  const auto specs = mock_.context->vendor().services();
  std::string name = specs.empty() ? std::string() : specs.front().name;
  for (const auto& spec : specs) {
    if (std::find(spec.methods.begin(), spec.methods.end(), mode) != spec.methods.end()) {
      name = spec.name;
      break;
    }
  }
  return "icap://" + address_ + "/" + name;
}

std::string_view builtin_engine::vendor() const {
  return mock_.context->vendor().name();
}

void builtin_engine::stop() {
  if (server_) {
    server_->stop();
    server_.reset();
  }
}

} // namespace icapkit::app
