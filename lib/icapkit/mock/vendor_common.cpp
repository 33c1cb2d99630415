#include "icapkit/mock/vendor_common.hpp"

#include "icapkit/codec/body_source.hpp"
#include "icapkit/codec/html_escape.hpp"

namespace icapkit::mock::detail {

std::string html_page(std::string_view title, const std::vector<std::string>& lines) {
  std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" +
                     codec::html_escaped(title) + "</title></head>\n<body>\n<h1>" +
                     codec::html_escaped(title) + "</h1>\n";
  for (const auto& line : lines) {
    html += "<p>" + codec::html_escaped(line) + "</p>\n";
  }
  html += "<hr><p><small>icapkit serve: a test ICAP server; verdicts come from its built-in "
          "rules and the scenario file.</small></p>\n</body></html>\n";
  return html;
}

server::response page_response(int status, std::string_view reason, std::string html,
                               const std::vector<std::pair<std::string, std::string>>& http_headers,
                               codec::version http_version) {
  codec::http_response_head head;
  head.http_version = http_version;
  head.status = status;
  head.reason = std::string(reason);
  head.headers.add("Content-Type", "text/html; charset=utf-8");
  head.headers.add("Content-Length", std::to_string(html.size()));
  head.headers.add("Cache-Control", "no-cache, no-store");
  for (const auto& [name, value] : http_headers) {
    head.headers.add(name, value);
  }
  return server::response::modified_response(
      std::move(head), std::make_unique<codec::string_body_source>(std::move(html)));
}

namespace {

void fix_length(codec::header_list& headers, std::uint64_t size) {
  headers.remove("Transfer-Encoding");
  headers.set("Content-Length", std::to_string(size));
}

} // namespace

server::response sanitized_response(const server::request_info& request,
                                    std::unique_ptr<codec::body_source> body, std::uint64_t size) {
  if (request.method == codec::icap_method::respmod && request.http_response) {
    auto head = *request.http_response;
    fix_length(head.headers, size);
    return server::response::modified_response(std::move(head), std::move(body));
  }
  auto head = request.http_request.value_or(codec::http_request_head{});
  fix_length(head.headers, size);
  return server::response::modified_request(std::move(head), std::move(body));
}

std::string request_url(const server::request_info& request) {
  return request.http_request ? request.http_request->target : std::string("-");
}

} // namespace icapkit::mock::detail
