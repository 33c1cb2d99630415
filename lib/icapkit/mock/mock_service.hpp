#pragma once
// The server::service behind `icapkit serve`: detection (detector.hpp) and scenario rules decide,
// a vendor personality words the answer, and the rule's delay and fault are handed to the
// engine. One object per service name group; all share one context.
#include "icapkit/mock/personality.hpp"
#include "icapkit/mock/scenario.hpp"
#include "icapkit/server/service.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace icapkit::mock {

// What every service and transaction shares (thread-safe).
class mock_context {
public:
  mock_context(std::shared_ptr<personality> vendor, scenario rules);

  personality& vendor() const noexcept { return *vendor_; }
  const scenario& rules() const noexcept { return rules_; }
  // The delay of `r` for this transaction: fixed, or the next value of its seeded sequence.
  std::chrono::milliseconds next_delay(const rule& r);

  std::size_t spool_memory_limit = 64 * 1024;
  std::string temp_dir;

private:
  std::shared_ptr<personality> vendor_;
  scenario rules_;
  std::mutex mutex_;
  std::unordered_map<const rule*, std::mt19937_64> random_;
};

class mock_service final : public server::service {
public:
  mock_service(service_spec spec, std::shared_ptr<mock_context> context);

  std::vector<std::string> names() const override { return {spec_.name}; }
  std::vector<codec::icap_method> methods() const override { return spec_.methods; }
  std::string istag() const override;
  server::options_reply options(const server::request_info& request) const override;
  std::unique_ptr<server::transaction> begin(const server::request_info& request) override;
  void finish_headers(int status, codec::header_list& icap_headers) const override;

private:
  service_spec spec_;
  std::shared_ptr<mock_context> context_;
};

// The vendor's services plus one REQMOD+RESPMOD service per extra name (--service).
std::vector<std::shared_ptr<server::service>>
make_services(const std::shared_ptr<mock_context>& context,
              const std::vector<std::string>& extra_names);

// Applies a rule's fault to an answer (engine fault plan, ICAP error, Connection: close, ISTag).
void apply_fault(const fault_spec& fault, server::response& r);

} // namespace icapkit::mock
