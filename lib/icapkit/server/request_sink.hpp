#pragma once
// Collects one ICAP request from parser events: the heads into a request_info, dispatch to a
// service as soon as the heads are complete (so body pieces reach the transaction as they are
// parsed), and the body-side state the connection loop decides on.
#include "icapkit/codec/body_spool.hpp"
#include "icapkit/codec/parser.hpp"
#include "icapkit/server/server_state.hpp"
#include "icapkit/server/service.hpp"

#include <memory>
#include <optional>
#include <string>

namespace icapkit::server::detail {

class request_sink final : public codec::parser_events {
public:
  request_sink(const server_state& state, request_info connection_info);

  void attach(const codec::parser& p) noexcept { parser_ = &p; }
  // Ready for the next request on the connection.
  void reset();

  void on_icap_request_line(std::string_view method, std::string_view uri,
                            codec::version v) override;
  void on_icap_header(std::string_view name, std::string_view value) override;
  void on_icap_headers_complete() override;
  void on_section(codec::section s) override;
  void on_http_request_line(std::string_view method, std::string_view target,
                            codec::version v) override;
  void on_http_status_line(codec::version v, int status, std::string_view reason) override;
  void on_http_header(std::string_view name, std::string_view value) override;
  void on_body(std::string_view data) override;
  void on_trailer(std::string_view name, std::string_view value) override;
  void on_preview_end(bool ieof) override;
  void on_message_complete() override;

  // Stop passing body bytes on (an answer was given early); the rest is parsed and dropped.
  void discard_body() noexcept { discard_ = true; }

  request_info info;
  std::shared_ptr<service> matched;       // null until dispatched (or when none matched)
  std::unique_ptr<transaction> current;   // REQMOD/RESPMOD after dispatch
  std::optional<codec::body_spool> spool; // kept for an echo (no Allow: 204) or for trickling
  int error_status = 0;                   // engine-made answer decided from the heads
  bool close_after_error = false;         // 501/505/400: the framing cannot be trusted
  bool heads_done = false;
  bool message_complete = false;
  bool preview_ended = false;
  bool ieof = false;
  bool answer_now = false; // the transaction asked to answer early
  std::uint64_t body_bytes = 0;
  std::string method_token;

private:
  void heads_complete();
  void dispatch();
  codec::header_list& current_http_headers();

  const server_state& state_;
  const codec::parser* parser_ = nullptr;
  request_info connection_info_; // client address and TLS, copied into every request
  bool discard_ = false;
  bool in_response_head_ = false;
};

} // namespace icapkit::server::detail
