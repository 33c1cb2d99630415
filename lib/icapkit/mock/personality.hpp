#pragma once
// A vendor personality: the data and small policy that make `icapkit serve` answer like OPSWAT
// MetaDefender ICAP, NSX Defender (Lastline) or a c-icap virus_scan antivirus: service names,
// ISTag, Server, OPTIONS values, and the headers and pages of each verdict. The detection and the
// scenario are shared; only the wording differs, so no vendor test is scattered elsewhere.
#include "icapkit/mock/detector.hpp"
#include "icapkit/server/service.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace icapkit::mock {

struct service_spec {
  std::string name;
  std::vector<codec::icap_method> methods;
};

// What the service hands a personality to word one answer.
struct answer_input {
  const server::request_info* request = nullptr;
  const server::body_state* state = nullptr;
  decision verdict;
  bool has_body = false;
  std::string md5; // of the body (empty body: of nothing)
  std::string sha256;
  std::string file_name;                         // the first known name, "-" when none
  std::unique_ptr<codec::body_source> rewritten; // sanitize: the new body
  std::uint64_t rewritten_size = 0;
};

struct personality_options {
  personality_options() = default;
  std::string blocking_mode = "MANAGER-KNOWN";   // lastline only
  std::chrono::milliseconds analysis_time{2000}; // lastline FULL / FULL-WITH-FEEDBACK
  std::optional<std::uint64_t> max_connections;  // OPTIONS Max-Connections; nullopt: the server's
};

class personality {
public:
  virtual ~personality() = default;

  virtual std::string_view name() const = 0; // "opswat", "lastline", "generic"
  virtual std::vector<service_spec> services() const = 0;
  virtual std::string istag() const = 0; // quoted
  virtual std::string server_header() const = 0;
  virtual server::options_reply options() const = 0;
  // The threat name this vendor gives the EICAR test file.
  virtual std::string eicar_threat() const = 0;
  // Whether the built-in <script> sanitizer applies (content disarm: opswat).
  virtual bool sanitizes() const { return false; }
  // The answer for a decision (the service adds the rule's delay and fault afterwards).
  virtual server::response answer(answer_input& in) = 0;
  // Every response of the vendor's services, engine-made ones included.
  virtual void finish_headers(int status, codec::header_list& headers) const;
};

// Blocking modes accepted by --blocking-mode, canonical spelling first.
std::optional<std::string> canonical_blocking_mode(std::string_view text);

// "opswat", "lastline" or "generic"; throws std::invalid_argument otherwise (or for a bad mode).
std::unique_ptr<personality> make_personality(std::string_view vendor,
                                              const personality_options& options);

std::unique_ptr<personality> make_opswat(const personality_options& options);
std::unique_ptr<personality> make_lastline(const personality_options& options);
std::unique_ptr<personality> make_generic(const personality_options& options);

} // namespace icapkit::mock
