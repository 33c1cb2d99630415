#pragma once
// One file of `icapkit scan`: the HTTP message a browser would send (REQMOD) or receive
// (RESPMOD) for it, the exchange with fail-over across --server URLs, the returned content saved
// under --save-modified, and the file's record and human line.
#include "file_walk.hpp"
#include "input_body.hpp"
#include "output.hpp"

#include "icapkit/client/client.hpp"
#include "icapkit/codec/message.hpp"
#include "icapkit/codec/uri.hpp"
#include "icapkit/log/app_log_record.hpp"

#include <asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace icapkit::app {

struct http_template {
  codec::icap_method mode = codec::icap_method::reqmod;
  std::string url;          // may hold {name}; empty: http://icapkit.test/upload|download/{name}
  std::string method;       // empty: POST for REQMOD, GET for RESPMOD
  std::string content_type; // empty: guessed from the file name
  bool multipart = false;
  codec::header_list http_headers; // --http-header, added to the encapsulated request
};

// Shared by every job of a run; jobs run as coroutines on one thread, so no locking.
struct scan_context {
  client::client* icap = nullptr;
  std::vector<codec::uri> servers; // fail-over order
  std::vector<bool> server_down;   // refused a connection earlier in this run
  http_template http;
  std::string save_dir;     // --save-modified; empty: nothing is saved
  bool spool_stdin = false; // --allow-206: stdin must be readable twice
  std::optional<std::string> client_ip;
  std::uint64_t bytes_read = 0; // across all files, for the progress line
};

struct scan_job_result {
  file_report report;
  std::optional<log::app_log_record> record; // unset when nothing was sent (unreadable input)
  bool connect_failed = false; // no connection to any --server (refused, timeout, no name, TLS)
};

// The URL for a file: `url_template` with every "{name}" replaced by the percent-encoded name.
std::string expand_url(const std::string& url_template, std::string_view name);

// Scans one input. Never throws for peer behaviour or unreadable files: the result says.
asio::awaitable<void> scan_file(scan_context& context, const scan_input& input, std::size_t index,
                                scan_job_result& out);

} // namespace icapkit::app
