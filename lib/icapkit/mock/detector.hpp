#pragma once
// The decision: scenario rules in order (first match wins), then the built-in detections
// (EICAR, encrypted archive, <script> sanitizing). Header-only rules can decide before the body
// arrives (an answer to the preview) as long as no earlier rule needs the body.
#include "icapkit/mock/body_scan.hpp"
#include "icapkit/mock/scenario.hpp"
#include "icapkit/server/service.hpp"

#include <optional>
#include <string>
#include <vector>

namespace icapkit::mock {

// What a rule can see of a request before its body.
struct request_facts {
  std::string method;             // "REQMOD" / "RESPMOD"
  std::string url;                // the encapsulated request URL, absolute when Host is known
  std::vector<std::string> names; // URL file name, Content-Disposition filename
  std::string content_type;       // of the message carrying the body, lowercase
  std::string client_ip;          // X-Client-IP when sent, else the peer
  const codec::header_list* icap_headers = nullptr;
  std::string multipart_boundary; // of a multipart/* request body
};

request_facts facts_of(const server::request_info& request);

enum class decision_source { none, rule, eicar, encrypted_archive, sanitize };

struct decision {
  verdict_kind kind = verdict_kind::clean;
  decision_source source = decision_source::none;
  const rule* matched = nullptr; // the scenario rule, when source == rule
  std::string rule_name;         // "exe-block", "builtin:eicar"; empty: nothing matched
  std::string threat;            // block: threat name (EICAR: the vendor's name, set later)
  std::string reason;            // block / url_block
  std::string page;              // url_block: custom page
  int http_status = 403;
  std::vector<rewrite_spec> rewrites; // sanitize
  bool by_hash = false;               // the rule matched on an MD5/SHA-256 list
};

class detector {
public:
  explicit detector(const scenario& rules) : scenario_(rules) {}

  // Decides from headers alone if the first matching rule needs no body and every rule before
  // it needs none either; nullopt when the body must be seen first.
  std::optional<decision> decide_early(const request_facts& facts) const;
  // The final decision once the body (if any) is complete. `body` may be null (no body).
  decision decide(const request_facts& facts, const body_scan* body, bool sanitize_builtin) const;

private:
  bool header_match(const rule& r, const request_facts& facts, bool body_seen,
                    const body_scan* body) const;
  bool body_match(const rule& r, std::size_t index, const body_scan* body) const;

  const scenario& scenario_;
};

// Whether a rule's name and extension criteria hold for any of `names`.
bool names_match(const match_spec& m, const std::vector<std::string>& names);

} // namespace icapkit::mock
