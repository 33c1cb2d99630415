#include "icapkit/server/response.hpp"

#include <utility>

namespace icapkit::server {

response response::continue_body() {
  response r;
  r.action = response_action::continue_body;
  r.status = 100;
  return r;
}

response response::unmodified() {
  response r;
  r.action = response_action::unmodified;
  r.status = 204;
  return r;
}

response response::modified_request(codec::http_request_head head,
                                    std::unique_ptr<codec::body_source> body) {
  response r;
  r.action = response_action::respond;
  r.status = 200;
  r.http_request = std::move(head);
  r.body = std::move(body);
  return r;
}

response response::modified_response(codec::http_response_head head,
                                     std::unique_ptr<codec::body_source> body) {
  response r;
  r.action = response_action::respond;
  r.status = 200;
  r.http_response = std::move(head);
  r.body = std::move(body);
  return r;
}

response response::partial(std::optional<codec::http_request_head> request_head,
                           std::optional<codec::http_response_head> response_head,
                           std::unique_ptr<codec::body_source> prefix,
                           std::uint64_t original_offset) {
  response r;
  r.action = response_action::respond;
  r.status = 206;
  r.http_request = std::move(request_head);
  r.http_response = std::move(response_head);
  r.body = std::move(prefix);
  r.use_original_body = original_offset;
  return r;
}

response response::error(int status, std::string reason) {
  response r;
  r.action = response_action::respond;
  r.status = status;
  r.reason = std::move(reason);
  return r;
}

response response::with_fault(fault_plan plan) {
  response r;
  r.action = response_action::respond;
  r.fault = std::move(plan);
  return r;
}

} // namespace icapkit::server
