#include "icapkit/client/service_options.hpp"
#include "icapkit/codec/parser.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using namespace icapkit::client;
using icapkit::codec::icap_method;
using namespace std::chrono_literals;

namespace {

// Parses an OPTIONS response as it came off the wire (CRLF line ends).
icapkit::codec::icap_response_head wire(const std::string& text) {
  icapkit::codec::parsed_message message;
  std::error_code ec;
  icapkit::codec::parse_message(text, icapkit::codec::parse_mode::icap_response, message, ec,
                                icap_method::options);
  REQUIRE_MESSAGE(!ec, ec.message());
  REQUIRE(message.icap_response);
  return *message.icap_response;
}

// c-icap 0.5.10's avscan service (virus_scan), as icap-protocol.md 3.3/3.4 records it.
const std::string c_icap_options = "ICAP/1.0 200 OK\r\n"
                                   "Methods: RESPMOD, REQMOD\r\n"
                                   "Service: C-ICAP/0.5.10 server - Antivirus service\r\n"
                                   "ISTag: \"CI0001-L5CkDhq+qWNs+PZ5DxxXsAAA\"\r\n"
                                   "Transfer-Preview: *\r\n"
                                   "Options-TTL: 3600\r\n"
                                   "Date: Tue, 26 Mar 2024 10:15:00 GMT\r\n"
                                   "Preview: 1024\r\n"
                                   "Allow: 204\r\n"
                                   "X-Include: X-Authenticated-User, X-Authenticated-Groups\r\n"
                                   "Server: C-ICAP/0.5.10\r\n"
                                   "Encapsulated: null-body=0\r\n"
                                   "\r\n";

service_options parsed(const std::string& text) {
  auto result = parse_service_options(wire(text));
  REQUIRE_MESSAGE(result.has_value(), (result ? std::string() : result.error().message));
  return std::move(result).value();
}

service_options with_lists(std::vector<std::string> preview_list,
                           std::vector<std::string> ignore_list,
                           std::vector<std::string> complete_list) {
  service_options o;
  o.preview = 4096;
  o.transfer_preview = std::move(preview_list);
  o.transfer_ignore = std::move(ignore_list);
  o.transfer_complete = std::move(complete_list);
  return o;
}

} // namespace

TEST_CASE("OPTIONS: c-icap's avscan answer, every field") {
  const auto o = parsed(c_icap_options);
  CHECK(o.status == 200);
  CHECK(o.methods == std::vector<std::string>{"RESPMOD", "REQMOD"});
  CHECK(o.supports(icap_method::reqmod));
  CHECK(o.supports(icap_method::respmod));
  CHECK_FALSE(o.supports(icap_method::options));
  CHECK(o.istag == "CI0001-L5CkDhq+qWNs+PZ5DxxXsAAA");
  CHECK(o.istag_quoted);
  CHECK(o.service == "C-ICAP/0.5.10 server - Antivirus service");
  CHECK_FALSE(o.service_id);
  CHECK(o.preview == 1024U);
  CHECK(o.transfer_preview == std::vector<std::string>{"*"});
  CHECK(o.transfer_ignore.empty());
  CHECK(o.allow_204);
  CHECK_FALSE(o.allow_206);
  CHECK(o.options_ttl == 3600s);
  CHECK(o.date == "Tue, 26 Mar 2024 10:15:00 GMT");
  CHECK(o.x_include == std::vector<std::string>{"X-Authenticated-User", "X-Authenticated-Groups"});
  REQUIRE(o.extra.size() == 2);
  CHECK(o.extra.get("Server") == "C-ICAP/0.5.10");
  CHECK(o.extra.get("Encapsulated") == "null-body=0");
  CHECK(o.warnings.empty());
  CHECK(o.for_extension("exe") == transfer_decision::preview);
  CHECK(o.preview_size_for("pdf", 5000, true) == 1024U);
  CHECK(o.preview_size_for("pdf", 653, true) == 653U);
  CHECK_FALSE(o.preview_size_for("pdf", 5000, false));
}

TEST_CASE("OPTIONS: an older server with an unquoted ISTag, one method, ServiceId, 206") {
  const auto o = parsed("ICAP/1.0 200 OK\r\n"
                        "Methods: RESPMOD\r\n"
                        "ISTag: 5BDEEEA9-12E4-2\r\n"
                        "ServiceId: av-resp\r\n"
                        "Allow: 204, 206, trailers\r\n"
                        "Max-Connections: 100\r\n"
                        "Opt-body-type: Attribute-List\r\n"
                        "Encapsulated: null-body=0\r\n"
                        "\r\n");
  CHECK(o.istag == "5BDEEEA9-12E4-2");
  CHECK_FALSE(o.istag_quoted);
  CHECK(o.service_id == "av-resp");
  CHECK(o.supports(icap_method::respmod));
  CHECK_FALSE(o.supports(icap_method::reqmod));
  CHECK(o.allow_204);
  CHECK(o.allow_206);
  CHECK(o.allow_trailers);
  CHECK(o.max_connections == 100U);
  CHECK(o.opt_body_type == "Attribute-List");
  CHECK_FALSE(o.preview);
  CHECK_FALSE(o.options_ttl); // never expires
  // No Preview advertised and no Transfer-* lists: send complete, no preview.
  CHECK(o.for_extension("txt") == transfer_decision::complete);
  CHECK_FALSE(o.preview_size_for("txt", 5000, true));
}

TEST_CASE("OPTIONS: Service-ID as the RFC spells it (Symantec)") {
  const auto o = parsed("ICAP/1.0 200 OK\r\nMethods: RESPMOD\r\nISTag: \"1\"\r\n"
                        "Service-ID: Respmod AV Scan\r\nEncapsulated: null-body=0\r\n\r\n");
  CHECK(o.service_id == "Respmod AV Scan");
}

TEST_CASE("OPTIONS: a non-200 answer is an error naming the status") {
  icapkit::codec::icap_response_head head;
  head.status = 404;
  head.reason = "Service not found";
  const auto result = parse_service_options(head);
  REQUIRE_FALSE(result);
  CHECK(result.error().status == 404);
  CHECK(result.error().message == "OPTIONS answered 404 Service not found");
  head.status = 503;
  head.reason.clear();
  CHECK(parse_service_options(head).error().message == "OPTIONS answered 503 Service Overloaded");
}

TEST_CASE("OPTIONS: missing Methods/ISTag and unreadable numbers become warnings") {
  icapkit::codec::icap_response_head head;
  head.headers.add("Preview", "lots");
  head.headers.add("Options-TTL", "-5");
  head.headers.add("Max-Connections", "99999999999");
  head.headers.add("Transfer-Preview", "exe, com");
  const auto result = parse_service_options(head);
  REQUIRE(result);
  const auto& o = result.value();
  CHECK_FALSE(o.preview);
  CHECK_FALSE(o.options_ttl);
  CHECK(o.max_connections == 4294967295U);
  CHECK(o.supports(icap_method::reqmod)); // no Methods: try rather than refuse
  CHECK(o.istag.empty());
  REQUIRE(o.warnings.size() == 5);
  CHECK(o.warnings[0] == "Preview is not a number: \"lots\"; ignored");
  CHECK(o.warnings[2] == "no Methods header (RFC 3507 requires one); assuming any method");
  CHECK(o.warnings[3] == "no ISTag header (RFC 3507 requires one)");
}

TEST_CASE("Transfer-*: explicit extensions win over the wildcard, as Squid matches") {
  const auto o = with_lists({"*"}, {"jpg", ".GIF"}, {"exe"});
  CHECK(o.for_extension("jpg") == transfer_decision::ignore);
  CHECK(o.for_extension(".gif") == transfer_decision::ignore);
  CHECK(o.for_extension("EXE") == transfer_decision::complete);
  CHECK(o.for_extension("pdf") == transfer_decision::preview);
  CHECK(o.for_extension("") == transfer_decision::preview);
  CHECK_FALSE(o.preview_size_for("jpg", 5000, true));
  CHECK_FALSE(o.preview_size_for("exe", 5000, true));
  CHECK(o.preview_size_for("pdf", 5000, true) == 4096U);

  const auto complete_default = with_lists({"html", "txt"}, {}, {"*"});
  CHECK(complete_default.for_extension("txt") == transfer_decision::preview);
  CHECK(complete_default.for_extension("zip") == transfer_decision::complete);

  const auto ignore_default = with_lists({"doc"}, {"*"}, {});
  CHECK(ignore_default.for_extension("doc") == transfer_decision::preview);
  CHECK(ignore_default.for_extension("png") == transfer_decision::ignore);

  // Lists without any '*' (against the RFC): unlisted extensions go complete.
  const auto no_wildcard = with_lists({"doc"}, {}, {});
  CHECK(no_wildcard.for_extension("png") == transfer_decision::complete);
}

TEST_CASE("Transfer-*: none sent -> preview when Preview was advertised (unlike Squid)") {
  service_options o;
  o.preview = 0;
  CHECK(o.for_extension("bin") == transfer_decision::preview);
  CHECK(o.preview_size_for("bin", 5000, true) == 0U);
  o.preview.reset();
  CHECK(o.for_extension("bin") == transfer_decision::complete);
  CHECK(to_string(transfer_decision::ignore) == "ignore");
}

TEST_CASE("options_cache: Options-TTL expiry with a caller's clock") {
  options_cache cache;
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;
  auto o = parsed(c_icap_options); // Options-TTL: 3600
  CHECK_FALSE(cache.store("icap://127.0.0.1:13440/avscan", o, t0).istag_changed);
  const auto* hit = cache.find("icap://127.0.0.1:13440/avscan", t0 + 3599s);
  REQUIRE(hit);
  CHECK(hit->preview == 1024U);
  CHECK_FALSE(cache.find("icap://127.0.0.1:13440/avscan", t0 + 3600s));
  CHECK_FALSE(cache.find("icap://127.0.0.1:13440/echo", t0));

  o.options_ttl.reset(); // never expires
  cache.store("icap://h/never", o, t0);
  CHECK(cache.find("icap://h/never", t0 + 1000000h));

  o.options_ttl = 0s; // expires at once: fetch every time
  cache.store("icap://h/zero", o, t0);
  CHECK_FALSE(cache.find("icap://h/zero", t0));
}

TEST_CASE("options_cache: invalidate and clear") {
  options_cache cache;
  const auto now = std::chrono::steady_clock::time_point{};
  cache.store("icap://h/a", parsed(c_icap_options), now);
  cache.store("icap://h/b", parsed(c_icap_options), now);
  cache.invalidate("icap://h/a");
  CHECK_FALSE(cache.find("icap://h/a", now));
  CHECK(cache.find("icap://h/b", now));
  cache.invalidate("icap://h/unknown"); // harmless
  cache.clear();
  CHECK_FALSE(cache.find("icap://h/b", now));
}

TEST_CASE("options_cache: ISTag change detection, quoted or not, survives invalidate") {
  options_cache cache;
  const auto now = std::chrono::steady_clock::time_point{};
  auto o = parsed(c_icap_options);
  CHECK_FALSE(cache.istag_changed("icap://h/avscan", "\"anything\"")); // nothing known yet
  cache.store("icap://h/avscan", o, now);
  CHECK_FALSE(cache.istag_changed("icap://h/avscan", "\"CI0001-L5CkDhq+qWNs+PZ5DxxXsAAA\""));
  CHECK_FALSE(cache.istag_changed("icap://h/avscan", "CI0001-L5CkDhq+qWNs+PZ5DxxXsAAA"));
  CHECK(cache.istag_changed("icap://h/avscan", "\"CI0002-new\""));

  cache.invalidate("icap://h/avscan");
  CHECK(cache.istag_changed("icap://h/avscan", "\"CI0002-new\""));
  o.istag = "CI0002-new";
  CHECK(cache.store("icap://h/avscan", o, now).istag_changed);
  CHECK_FALSE(cache.store("icap://h/avscan", o, now).istag_changed);
}

TEST_CASE("unquote_istag") {
  CHECK(unquote_istag(" \"001605794100\" ") == "001605794100");
  CHECK(unquote_istag("plain") == "plain");
  CHECK(unquote_istag("\"") == "\"");
  CHECK(unquote_istag("").empty());
}
