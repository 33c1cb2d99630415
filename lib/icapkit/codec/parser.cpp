#include "icapkit/codec/parser.hpp"

#include "icapkit/codec/errc.hpp"
#include "icapkit/codec/head_parser.hpp"

#include <charconv>

namespace icapkit::codec {
namespace detail {

// Drives one head_parser (the ICAP head, then each encapsulated HTTP head) and one
// chunked_decoder (the encapsulated body), and checks what ICAP adds on top: the Encapsulated
// offsets and shape, Preview, ieof. Validation happens at fixed points in the byte stream (end
// of the ICAP head, a chunk-size line, an offset), so events and errors never depend on how the
// input was split.
class parser_impl final : private head_events, private chunked_events {
public:
  parser_impl(parse_mode mode, parser_events& events, limits lim, leniency len)
      : mode_(mode), events_(events), lim_(lim), len_(len),
        head_(icap_head_kind(), *this, lim, len), chunked_(*this, lim, len) {}

  void set_request_method(icap_method m) { request_method_ = m; }
  std::size_t put(std::string_view data, std::error_code& ec);
  void put_eof(std::error_code& ec);
  void reset();

  bool is_done() const noexcept { return stage_ == stage::done; }
  bool icap_head_read() const noexcept { return icap_head_read_; }
  bool at_message_start() const noexcept { return stage_ == stage::icap_head && !head_.started(); }
  bool awaiting_preview_decision() const noexcept { return stage_ == stage::awaiting_decision; }
  void continue_after_preview();
  void end_after_preview();

  const encapsulated& encapsulated_header() const noexcept { return enc_; }
  std::optional<std::uint64_t> preview() const noexcept { return preview_; }
  icap_method method() const noexcept { return method_; }
  int status() const noexcept { return status_; }

private:
  enum class stage { icap_head, http_head, body, awaiting_decision, done, failed };

  head_kind icap_head_kind() const noexcept {
    return mode_ == parse_mode::icap_request ? head_kind::icap_request : head_kind::icap_response;
  }
  bool is_request() const noexcept { return mode_ == parse_mode::icap_request; }

  // head_events
  void on_request_line(std::string_view method, std::string_view target, version v) override;
  void on_status_line(version v, int status, std::string_view reason) override;
  void on_field(std::string_view name, std::string_view value) override;
  void on_head_complete() override;
  // chunked_events
  void on_chunk_header(std::uint64_t size, const chunk_extensions& ext) override;
  void on_chunk_data(std::string_view data) override;
  void on_trailer(std::string_view name, std::string_view value) override;

  std::size_t put_icap_head(std::string_view data);
  std::size_t put_http_head(std::string_view data);
  std::size_t put_body(std::string_view data);
  std::error_code validate_icap_head();
  std::error_code check_encapsulated();
  std::optional<message_role> role() const noexcept;
  bool carries_adapted_message() const noexcept;
  bool answers_without_sections() const noexcept;
  void start_entity();
  void finish_body();
  void complete();
  void fail(std::error_code e);

  parse_mode mode_;
  parser_events& events_;
  limits lim_;
  leniency len_;
  icap_method request_method_ = icap_method::reqmod;
  head_parser head_;
  chunked_decoder chunked_;
  stage stage_ = stage::icap_head;
  std::error_code error_;
  bool icap_head_read_ = false; // the ICAP head's blank line was reached (valid or not)

  // What the ICAP head said.
  icap_method method_ = icap_method::other;
  int status_ = 0;
  bool has_host_ = false;
  bool has_transfer_encoding_ = false;
  std::size_t encapsulated_count_ = 0;
  std::string encapsulated_value_;
  std::optional<std::string> preview_value_;
  encapsulated enc_;
  std::optional<std::uint64_t> preview_;

  // Where we are in the ICAP body.
  std::size_t entity_index_ = 0;
  std::uint64_t body_offset_ = 0; // bytes of the ICAP body consumed (for the header sections)
  bool in_preview_ = false;
  std::uint64_t preview_bytes_ = 0;
  bool last_ieof_ = false;
};

void parser_impl::reset() {
  head_.reset(icap_head_kind());
  chunked_.reset();
  stage_ = stage::icap_head;
  error_ = {};
  icap_head_read_ = false;
  method_ = icap_method::other;
  status_ = 0;
  has_host_ = false;
  has_transfer_encoding_ = false;
  encapsulated_count_ = 0;
  encapsulated_value_.clear();
  preview_value_.reset();
  enc_ = {};
  preview_.reset();
  entity_index_ = 0;
  body_offset_ = 0;
  in_preview_ = false;
  preview_bytes_ = 0;
  last_ieof_ = false;
}

void parser_impl::fail(std::error_code e) {
  if (!error_) {
    error_ = e;
    stage_ = stage::failed;
  }
}

void parser_impl::complete() {
  stage_ = stage::done;
  events_.on_message_complete();
}

std::size_t parser_impl::put(std::string_view data, std::error_code& ec) {
  std::size_t used = 0;
  while (!error_ && used < data.size()) {
    auto rest = data.substr(used);
    if (stage_ == stage::icap_head) {
      used += put_icap_head(rest);
    } else if (stage_ == stage::http_head) {
      used += put_http_head(rest);
    } else if (stage_ == stage::body) {
      used += put_body(rest);
    } else {
      break; // done, awaiting a preview decision, or failed
    }
  }
  ec = error_;
  return used;
}

void parser_impl::put_eof(std::error_code& ec) {
  if (!error_ && stage_ != stage::done && !at_message_start()) {
    fail(errc::unexpected_eof);
  }
  ec = error_;
}

std::size_t parser_impl::put_icap_head(std::string_view data) {
  std::error_code e;
  auto n = head_.put(data, e);
  if (e) {
    fail(e);
  } else if (head_.is_done()) {
    icap_head_read_ = true;
    if (auto v = validate_icap_head()) {
      fail(v);
      return n;
    }
    events_.on_icap_headers_complete();
    in_preview_ = is_request() && preview_ && enc_.has_chunked_body() &&
                  (method_ == icap_method::reqmod || method_ == icap_method::respmod);
    if (enc_.entities.empty()) {
      complete(); // errata e1: no Encapsulated, no body (100, 204, OPTIONS requests, ...)
    } else {
      start_entity();
    }
  }
  return n;
}

// An encapsulated HTTP head must end exactly at the next offset: the parser is never given a
// byte past it, and reaching it before the blank line is an error, so a wrong offset fails
// instead of waiting for bytes that would never make sense.
std::size_t parser_impl::put_http_head(std::string_view data) {
  auto next = enc_.entities[entity_index_ + 1].offset;
  auto room = next - body_offset_;
  if (room < data.size()) {
    data = data.substr(0, static_cast<std::size_t>(room));
  }
  std::error_code e;
  auto n = head_.put(data, e);
  body_offset_ += n;
  if (e) {
    fail(e);
  } else if (head_.is_done()) {
    if (body_offset_ != next) {
      fail(errc::encapsulated_offset_mismatch);
    } else {
      ++entity_index_;
      start_entity();
    }
  } else if (body_offset_ == next) {
    fail(errc::encapsulated_offset_mismatch);
  }
  return n;
}

std::size_t parser_impl::put_body(std::string_view data) {
  std::error_code e;
  auto n = chunked_.put(data, e);
  if (error_) {
    return n; // an event handler refused a chunk header
  }
  if (e) {
    fail(e);
  } else if (chunked_.is_done()) {
    finish_body();
  }
  return n;
}

void parser_impl::start_entity() {
  const auto& entity = enc_.entities[entity_index_];
  events_.on_section(entity.kind);
  switch (entity.kind) {
  case section::req_hdr:
    head_.reset(head_kind::http_request);
    stage_ = stage::http_head;
    break;
  case section::res_hdr:
    head_.reset(head_kind::http_response);
    stage_ = stage::http_head;
    break;
  case section::null_body:
    complete(); // Squid's "Preview: 0" + null-body sends no chunk at all
    break;
  default:
    chunked_.reset();
    stage_ = stage::body;
    break;
  }
}

void parser_impl::finish_body() {
  if (!in_preview_) {
    complete();
    return;
  }
  in_preview_ = false;
  events_.on_preview_end(last_ieof_);
  if (last_ieof_) {
    complete();
  } else {
    stage_ = stage::awaiting_decision;
  }
}

void parser_impl::continue_after_preview() {
  if (stage_ == stage::awaiting_decision) {
    chunked_.reset();
    stage_ = stage::body;
  }
}

void parser_impl::end_after_preview() {
  if (stage_ == stage::awaiting_decision) {
    complete();
  }
}

void parser_impl::on_request_line(std::string_view method, std::string_view target, version v) {
  if (stage_ == stage::icap_head) {
    method_ = parse_icap_method(method);
    events_.on_icap_request_line(method, target, v);
  } else {
    events_.on_http_request_line(method, target, v);
  }
}

void parser_impl::on_status_line(version v, int status, std::string_view reason) {
  if (stage_ == stage::icap_head) {
    status_ = status;
    events_.on_icap_status_line(v, status, reason);
  } else {
    events_.on_http_status_line(v, status, reason);
  }
}

void parser_impl::on_field(std::string_view name, std::string_view value) {
  if (stage_ != stage::icap_head) {
    events_.on_http_header(name, value);
    return;
  }
  if (iequals(name, "Encapsulated")) {
    if (encapsulated_count_++ == 0) {
      encapsulated_value_.assign(value);
    }
  } else if (iequals(name, "Preview")) {
    if (!preview_value_) {
      preview_value_.emplace(value);
    }
  } else if (iequals(name, "Host")) {
    has_host_ = true;
  } else if (iequals(name, "Transfer-Encoding")) {
    has_transfer_encoding_ = true;
  }
  events_.on_icap_header(name, value);
}

void parser_impl::on_head_complete() {
  if (stage_ == stage::http_head) {
    events_.on_http_headers_complete();
  }
  // The ICAP head is validated by put_icap_head once the head parser has returned.
}

void parser_impl::on_chunk_header(std::uint64_t size, const chunk_extensions& ext) {
  if (error_) {
    return;
  }
  if (size == 0 && ext.ieof && !in_preview_ && !len_.ieof_outside_preview) {
    fail(errc::ieof_outside_preview);
    return;
  }
  if (in_preview_ && size > *preview_ - preview_bytes_) {
    fail(errc::preview_exceeded);
    return;
  }
  if (in_preview_) {
    preview_bytes_ += size;
  }
  if (size == 0) {
    last_ieof_ = ext.ieof;
  }
  events_.on_chunk_header(size, ext);
}

void parser_impl::on_chunk_data(std::string_view data) {
  if (!error_) {
    events_.on_body(data);
  }
}

void parser_impl::on_trailer(std::string_view name, std::string_view value) {
  if (!error_) {
    events_.on_trailer(name, value);
  }
}

std::optional<message_role> parser_impl::role() const noexcept {
  auto m = is_request() ? method_ : request_method_;
  switch (m) {
  case icap_method::options:
    return is_request() ? message_role::options_request : message_role::options_response;
  case icap_method::reqmod:
    return is_request() ? message_role::reqmod_request : message_role::reqmod_response;
  case icap_method::respmod:
    return is_request() ? message_role::respmod_request : message_role::respmod_response;
  case icap_method::other:
    break;
  }
  return std::nullopt; // unknown method: the head parses, the server answers 501
}

// A response that answers REQMOD/RESPMOD with an adapted message: its Encapsulated header is the
// only way to find where that message ends. (An OPTIONS answer without one has no body.)
bool parser_impl::carries_adapted_message() const noexcept {
  const bool modifies =
      request_method_ == icap_method::reqmod || request_method_ == icap_method::respmod;
  return !is_request() && modifies && status_carries_adapted_message(status_);
}

bool parser_impl::answers_without_sections() const noexcept {
  return !is_request() && status_has_no_sections(status_);
}

std::error_code parser_impl::check_encapsulated() {
  if (encapsulated_count_ > 1) {
    return errc::duplicate_encapsulated_header;
  }
  if (encapsulated_count_ == 0) {
    if (carries_adapted_message()) {
      return errc::response_without_encapsulated;
    }
    bool needs_it =
        is_request() && (method_ == icap_method::reqmod || method_ == icap_method::respmod);
    return needs_it && !len_.missing_encapsulated ? make_error_code(errc::missing_encapsulated)
                                                  : std::error_code{};
  }
  if (auto e = parse_encapsulated(encapsulated_value_, enc_, lim_)) {
    return e;
  }
  if (!enc_.body()) {
    return errc::encapsulated_shape; // header sections need a body entity to end them
  }
  if (answers_without_sections() && (enc_.entities.size() > 1 || enc_.has_chunked_body())) {
    return errc::sections_not_allowed_for_status;
  }
  if (auto r = role()) {
    return validate_shape(enc_, *r);
  }
  return {};
}

std::error_code parser_impl::validate_icap_head() {
  if (has_transfer_encoding_) {
    return errc::transfer_encoding_on_icap;
  }
  if (is_request() && !has_host_ && !len_.missing_host) {
    return errc::missing_host;
  }
  if (auto e = check_encapsulated()) {
    return e;
  }
  if (is_request() && preview_value_) {
    // A response's Preview (OPTIONS) is the server's wish, read by the client layer.
    const auto& text = *preview_value_;
    std::uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size()) {
      return errc::bad_preview;
    }
    preview_ = value;
  }
  return {};
}

} // namespace detail

parser::parser(parse_mode mode, parser_events& events, limits lim, leniency len)
    : impl_(std::make_unique<detail::parser_impl>(mode, events, lim, len)) {}
parser::~parser() = default;
parser::parser(parser&&) noexcept = default;
parser& parser::operator=(parser&&) noexcept = default;

void parser::set_request_method(icap_method m) {
  impl_->set_request_method(m);
}
std::size_t parser::put(std::string_view data, std::error_code& ec) {
  return impl_->put(data, ec);
}
void parser::put_eof(std::error_code& ec) {
  impl_->put_eof(ec);
}
bool parser::is_done() const noexcept {
  return impl_->is_done();
}
bool parser::icap_head_read() const noexcept {
  return impl_->icap_head_read();
}
bool parser::at_message_start() const noexcept {
  return impl_->at_message_start();
}
bool parser::awaiting_preview_decision() const noexcept {
  return impl_->awaiting_preview_decision();
}
void parser::continue_after_preview() {
  impl_->continue_after_preview();
}
void parser::end_after_preview() {
  impl_->end_after_preview();
}
const encapsulated& parser::encapsulated_header() const noexcept {
  return impl_->encapsulated_header();
}
std::optional<std::uint64_t> parser::preview() const noexcept {
  return impl_->preview();
}
icap_method parser::method() const noexcept {
  return impl_->method();
}
int parser::status() const noexcept {
  return impl_->status();
}
void parser::reset() {
  impl_->reset();
}

namespace {

// Collects the events of one message into a parsed_message.
class message_collector final : public parser_events {
public:
  explicit message_collector(parsed_message& out) : out_(out) {}

  void on_icap_request_line(std::string_view method, std::string_view uri, version v) override {
    auto& head = out_.icap_request.emplace();
    head.method.assign(method);
    head.uri.assign(uri);
    head.icap_version = v;
    icap_headers_ = &head.headers;
  }
  void on_icap_status_line(version v, int status, std::string_view reason) override {
    auto& head = out_.icap_response.emplace();
    head.icap_version = v;
    head.status = status;
    head.reason.assign(reason);
    icap_headers_ = &head.headers;
  }
  void on_icap_header(std::string_view name, std::string_view value) override {
    icap_headers_->add(std::string(name), std::string(value));
  }
  void on_http_request_line(std::string_view method, std::string_view target, version v) override {
    auto& head = out_.http_request.emplace();
    head.method.assign(method);
    head.target.assign(target);
    head.http_version = v;
    http_headers_ = &head.headers;
  }
  void on_http_status_line(version v, int status, std::string_view reason) override {
    auto& head = out_.http_response.emplace();
    head.http_version = v;
    head.status = status;
    head.reason.assign(reason);
    http_headers_ = &head.headers;
  }
  void on_http_header(std::string_view name, std::string_view value) override {
    http_headers_->add(std::string(name), std::string(value));
  }
  void on_chunk_header(std::uint64_t /*size*/, const chunk_extensions& ext) override {
    if (ext.use_original_body) {
      out_.use_original_body = ext.use_original_body;
    }
  }
  void on_body(std::string_view data) override { out_.body.append(data); }
  void on_trailer(std::string_view name, std::string_view value) override {
    out_.trailers.add(std::string(name), std::string(value));
  }
  void on_preview_end(bool ieof) override {
    out_.preview_ended = true;
    out_.ieof = ieof;
  }
  void on_message_complete() override { out_.complete = true; }

private:
  parsed_message& out_;
  header_list* icap_headers_ = nullptr;
  header_list* http_headers_ = nullptr;
};

} // namespace

std::size_t parse_message(std::string_view data, parse_mode mode, parsed_message& out,
                          std::error_code& ec, icap_method request_method, limits lim,
                          leniency len) {
  out = {};
  message_collector collector(out);
  parser p(mode, collector, lim, len);
  p.set_request_method(request_method);
  std::size_t used = 0;
  for (;;) {
    used += p.put(data.substr(used), ec);
    if (ec || p.is_done()) {
      break;
    }
    if (p.awaiting_preview_decision()) {
      p.continue_after_preview(); // as if the server had answered 100 Continue
      continue;
    }
    p.put_eof(ec); // every byte was consumed and the message is not complete
    break;
  }
  out.encapsulated_header = p.encapsulated_header();
  return used;
}

} // namespace icapkit::codec
