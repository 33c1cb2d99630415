#pragma once
// Pieces every personality words the same way: HTML pages (written for icapkit, not copied from
// any product), page responses, sanitized messages with a corrected Content-Length.
#include "icapkit/mock/personality.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace icapkit::mock::detail {

// A small HTML page: a title, lines of text (escaped), and a footer naming the mock.
std::string html_page(std::string_view title, const std::vector<std::string>& lines);

// An ICAP 200 carrying an HTTP page with `status` (403 block pages, 200 patience pages), in
// REQMOD and RESPMOD alike. `http_headers` are added to the HTTP response head.
server::response
page_response(int status, std::string_view reason, std::string html,
              const std::vector<std::pair<std::string, std::string>>& http_headers = {},
              codec::version http_version = {1, 1});

// REQMOD: the request with the rewritten body; RESPMOD: the response with it. Content-Length is
// set to `size` and Transfer-Encoding dropped (the ICAP chunking carries the body).
server::response sanitized_response(const server::request_info& request,
                                    std::unique_ptr<codec::body_source> body, std::uint64_t size);

// The encapsulated request URL, for pages ("-" when unknown).
std::string request_url(const server::request_info& request);

} // namespace icapkit::mock::detail
