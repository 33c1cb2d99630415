// Each vendor over a real loopback server (lib/icapkit/server) with the real client
// (lib/icapkit/client): what a user of `icapkit scan` against `icapkit serve` would see.
#include "icapkit/client/client.hpp"
#include "icapkit/codec/uri.hpp"
#include "icapkit/mock/mock_service.hpp"
#include "icapkit/server/server.hpp"

#include "mock_test_util.hpp"

#include <doctest/doctest.h>

using namespace icapkit;
using namespace icapkit::mock;

namespace {

using namespace std::chrono_literals;

class running_mock {
public:
  running_mock(std::string_view vendor, std::string mode = "MANAGER-KNOWN") {
    server::server_options o;
    o.listen = {"127.0.0.1:0"};
    o.threads = 1;
    server_ = std::make_unique<server::server>(std::move(o));
    for (auto& s : make_services(test::context(vendor, {}, std::move(mode)), {})) {
      server_->add_service(std::move(s));
    }
    std::string detail;
    const auto ec = server_->start(detail);
    REQUIRE_MESSAGE(!ec, detail << ": " << ec.message());
    address_ = server_->bound_addresses().front();
  }
  ~running_mock() { server_->stop(); }
  codec::uri uri(std::string_view service) const {
    codec::uri u;
    REQUIRE(!codec::parse_uri("icap://" + address_ + "/" + std::string(service), u));
    return u;
  }

private:
  std::unique_ptr<server::server> server_;
  std::string address_;
};

client::exchange_result scan(log::icap_vendor vendor, const codec::uri& service,
                             codec::icap_method method, const std::string& body_text) {
  client::client_settings s;
  s.vendor = vendor;
  s.connect_timeout = 2s;
  s.io_timeout = 5s;
  s.response_timeout = 10s;
  asio::io_context io;
  client::client c(io.get_executor(), s);
  codec::memory_body_source body(body_text);
  client::exchange_request r;
  r.method = method;
  r.service = service;
  codec::http_request_head http;
  http.method = method == codec::icap_method::reqmod ? "POST" : "GET";
  http.target = "http://icapkit.test/files/sample.bin";
  http.headers.add("Host", "icapkit.test");
  http.headers.add("Content-Length", std::to_string(body_text.size()));
  r.http_request = http;
  if (method == codec::icap_method::respmod) {
    codec::http_response_head res;
    res.headers.add("Content-Length", std::to_string(body_text.size()));
    r.http_response = res;
  }
  r.body = &body;
  std::optional<client::exchange_result> out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        out = co_await c.exchange(std::move(r));
        c.close_idle();
      },
      asio::detached);
  io.run_for(20s);
  REQUIRE(out);
  return std::move(*out);
}

const std::string eicar_text = std::string(3000, 'a') + std::string(eicar_string);

} // namespace

TEST_CASE("end to end: opswat blocked, clean and sanitized as the client records them") {
  running_mock mock("opswat");
  const auto blocked = scan(log::icap_vendor::opswat, mock.uri("OMSScanReq-AV"),
                            codec::icap_method::reqmod, eicar_text);
  CHECK(blocked.result.outcome == client::verdict_outcome::blocked);
  CHECK(blocked.record.vendor == log::icap_vendor::opswat);
  REQUIRE(blocked.record.opswat_log);
  CHECK(blocked.record.opswat_log->reason == "Infected");
  CHECK(blocked.record.opswat_log->threat_id == "EICAR-Test-File (not a virus)");
  REQUIRE(blocked.record.opswat_log->violations.size() == 1);
  CHECK(blocked.record.opswat_log->violations[0].file_name == "sample.bin");
  CHECK(blocked.record.http_response_code == 403u);

  CHECK(scan(log::icap_vendor::opswat, mock.uri("OMSScanResp-AV"), codec::icap_method::respmod,
             "clean text")
            .result.outcome == client::verdict_outcome::passed);
  const auto sanitized = scan(log::icap_vendor::opswat, mock.uri("OMSScanResp-AV"),
                              codec::icap_method::respmod, "<p>a</p><script>b</script>");
  CHECK(sanitized.result.outcome == client::verdict_outcome::modified);
}

TEST_CASE("end to end: generic blocked and clean") {
  running_mock mock("generic");
  const auto blocked =
      scan(log::icap_vendor::generic, mock.uri("avscan"), codec::icap_method::respmod, eicar_text);
  CHECK(blocked.result.outcome == client::verdict_outcome::blocked);
  REQUIRE(blocked.record.opswat_log);
  CHECK(blocked.record.opswat_log->threat_id == "Eicar-Test-Signature");
  REQUIRE(blocked.record.opswat_log->violations.size() == 1);
  CHECK_FALSE(blocked.record.opswat_log->violations[0].file_name);
  CHECK(scan(log::icap_vendor::generic, mock.uri("srv_clamav"), codec::icap_method::reqmod, "clean")
            .result.outcome == client::verdict_outcome::passed);
}

TEST_CASE("end to end: lastline blocked with score, task and status URL; clean passes") {
  running_mock mock("lastline");
  const auto blocked = scan(log::icap_vendor::lastline, mock.uri("lastline"),
                            codec::icap_method::respmod, std::string(eicar_string));
  CHECK(blocked.result.outcome == client::verdict_outcome::blocked);
  REQUIRE(blocked.record.nsx_defender_log);
  const std::string task = "275a021b-bfb6-489e-54d4-71899f7db9d1";
  CHECK(blocked.record.nsx_defender_log->score == 100u);
  CHECK(blocked.record.nsx_defender_log->task_uuid == task);
  CHECK(blocked.record.nsx_defender_log->status_url ==
        "https://user.lastline.com/portal#/analyst/task/" + task + "/overview");
  CHECK(scan(log::icap_vendor::lastline, mock.uri("lastline"), codec::icap_method::reqmod, "clean")
            .result.outcome == client::verdict_outcome::passed);
}
