#include "mock_test_util.hpp"

#include <doctest/doctest.h>

using namespace icapkit;
using namespace icapkit::mock;
using namespace icapkit::mock::test;

namespace {

std::shared_ptr<server::service> service_named(const std::shared_ptr<mock_context>& ctx,
                                               std::string_view name) {
  for (auto& s : make_services(ctx, {"extra"})) {
    if (s->names().front() == name) {
      return s;
    }
  }
  FAIL("no service " << name);
  return nullptr;
}

const std::vector<std::string> eicar_in_pieces = {"text before ", "X5O!P%@AP[4\\PZX54(P^)7CC",
                                                  ")7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"};

} // namespace

TEST_CASE("opswat: services, OPTIONS and X-Response-Info everywhere") {
  auto ctx = context("opswat");
  auto req = service_named(ctx, "OMSScanReq-AV");
  CHECK(req->methods() == std::vector{codec::icap_method::reqmod});
  CHECK(service_named(ctx, "OMSScanResp-AV")->methods() ==
        std::vector{codec::icap_method::respmod});
  CHECK(service_named(ctx, "extra")->methods().size() == 2);
  CHECK(req->istag() == "\"001605794100\"");
  const auto o = req->options(reqmod_info("/"));
  CHECK(o.preview == 4096u);
  CHECK(o.transfer_preview == "*");
  CHECK(o.extra_headers.get("X-Response-Info") == "Options");
  codec::header_list engine_made;
  req->finish_headers(100, engine_made);
  CHECK(engine_made.get("X-Response-Info") == "Allowed");
  CHECK(engine_made.get("Server") == "Metadefender Core V4");
  codec::header_list error;
  req->finish_headers(503, error);
  CHECK(error.get("X-Response-Info") == "Error");
}

TEST_CASE("opswat: block, clean and sanitize headers") {
  auto ctx = context("opswat");
  auto req = service_named(ctx, "OMSScanReq-AV");
  const auto blocked = drive(*req, reqmod_info("http://h.test/up/e.txt"), eicar_in_pieces);
  CHECK(blocked.status == 200);
  CHECK(header(blocked, "X-Response-Info") == "Blocked");
  CHECK(header(blocked, "X-Response-Desc") == "Infected");
  CHECK(header(blocked, "X-Blocked-Reason") == "Infected");
  CHECK(header(blocked, "X-ICAP-Profile") == "File process");
  CHECK(header(blocked, "X-Virus-ID") == "EICAR-Test-File (not a virus)");
  CHECK(header(blocked, "X-Infection-Found") ==
        "Type=0; Resolution=2; Threat=EICAR-Test-File (not a virus);");
  CHECK(header(blocked, "X-Violations-Found") == "1\ne.txt\nEICAR-Test-File (not a virus)\n0\n0");
  REQUIRE(blocked.http_response);
  CHECK(blocked.http_response->status == 403);
  CHECK(read_all(*blocked.body).find("EICAR-Test-File (not a virus)") != std::string::npos);
  CHECK(blocked.rule == "builtin:eicar");

  const auto clean = drive(*req, reqmod_info("http://h.test/a.txt"), {"hello"});
  CHECK(clean.action == server::response_action::unmodified);
  CHECK(header(clean, "X-Response-Info") == "Allowed");

  const std::string page = "<html><script>x()</script><p>kept</p></html>";
  const auto sanitized =
      drive(*req, reqmod_info("http://h.test/p.html", std::to_string(page.size())), {page});
  CHECK(header(sanitized, "X-Response-Info") == "Sanitized");
  REQUIRE(sanitized.http_request);
  const auto body = read_all(*sanitized.body);
  CHECK(body == "<html><!-- script removed by icapkit serve --><p>kept</p></html>");
  CHECK(sanitized.http_request->headers.get("Content-Length") == std::to_string(body.size()));
}

TEST_CASE("generic: c-icap virus_scan style block and clean") {
  auto ctx = context("generic");
  auto svc = service_named(ctx, "srv_clamav");
  CHECK(service_named(ctx, "avscan")->methods().size() == 2);
  CHECK(svc->istag().starts_with("\"CI0001-"));
  CHECK(svc->options(reqmod_info("/")).preview == 1024u);
  const auto blocked = drive(*svc, respmod_info("http://h.test/e.com"), eicar_in_pieces);
  CHECK(header(blocked, "X-Infection-Found") ==
        "Type=0; Resolution=2; Threat=Eicar-Test-Signature;");
  CHECK(header(blocked, "X-Violations-Found") == "1\n-\nEicar-Test-Signature\n0\n0");
  REQUIRE(blocked.http_response);
  CHECK(blocked.http_response->http_version == codec::version{1, 0});
  CHECK(read_all(*blocked.body).find("VIRUS FOUND") != std::string::npos);
  CHECK(drive(*svc, respmod_info("/c.txt"), {"clean"}).action ==
        server::response_action::unmodified);
}

TEST_CASE("lastline: block in the LastlineArtifact form, PASSIVE and SENSOR-KNOWN") {
  const std::string md5 = "44d88612fea8a8f36de82e1278abb02f";
  const std::string task = "275a021b-bfb6-489e-54d4-71899f7db9d1";
  auto svc = service_named(context("lastline"), "lastline");
  CHECK(svc->options(reqmod_info("/")).preview == 1000u);
  const auto blocked = drive(*svc, respmod_info("/e.com"), {std::string(eicar_string)});
  CHECK(header(blocked, "X-Infection-Found") ==
        "Type=0;Resolution=1;Threat=LastlineArtifact(score=100;md5=" + md5 + ";uuid=" + task + ")");
  CHECK(header(blocked, "X-Virus-ID") ==
        "LastlineArtifact(score=100;md5=" + md5 + ";task_uuid=" + task + ")");
  REQUIRE(blocked.http_response);
  CHECK(blocked.http_response->headers.get("X-Lastline-Status") == "known");
  CHECK(blocked.http_response->headers.get("X-Lastline-Score") == "100");
  CHECK(blocked.http_response->headers.get("X-Lastline-Task") == task);

  auto passive = service_named(context("lastline", {}, "PASSIVE"), "lastline");
  const auto passed = drive(*passive, respmod_info("/e.com"), {std::string(eicar_string)});
  CHECK(passed.action == server::response_action::unmodified);
  CHECK(header(passed, "X-Lastline-Score") == "100");

  auto sensor = service_named(context("lastline", {}, "SENSOR-KNOWN"), "lastline");
  CHECK(drive(*sensor, respmod_info("/e"), {std::string(eicar_string)}).http_response);
  const auto embedded = drive(*sensor, respmod_info("/e"), eicar_in_pieces); // not a known hash
  CHECK(embedded.action == server::response_action::unmodified);
  CHECK(header(embedded, "X-Lastline-Status") == "new");
}

TEST_CASE("lastline FULL waits for the analysis; FULL-WITH-FEEDBACK shows a patience page") {
  auto full = service_named(context("lastline", {}, "FULL"), "lastline");
  const auto first = drive(*full, respmod_info("/a"), {"unknown file"});
  CHECK(first.delay.count() > 0);
  CHECK(header(first, "X-Lastline-Status") == "known");
  CHECK(header(first, "X-Lastline-Score") == "0");
  auto feedback = service_named(context("lastline", {}, "FULL WITH FEEDBACK"), "lastline");
  const auto patience = drive(*feedback, respmod_info("/a"), {"unknown file"});
  REQUIRE(patience.http_response);
  CHECK(patience.http_response->status == 200);
  CHECK(patience.http_response->headers.get("X-Lastline-Status") == "new");
  CHECK(read_all(*patience.body).find("Analysis in progress") != std::string::npos);
}

TEST_CASE("scenario delay and faults map onto the engine's response") {
  auto ctx = context("opswat", parse_scenario(R"({"rules": [
    {"name": "slow", "match": {"icap_header": {"name": "X-T", "regex": "slow"}},
     "delay": {"min_ms": 10, "max_ms": 20, "seed": 3}},
    {"name": "reset", "match": {"icap_header": {"name": "X-T", "regex": "reset"}},
     "fault": {"type": "reset", "after_bytes": 7}},
    {"name": "503", "match": {"icap_header": {"name": "X-T", "regex": "503"}},
     "fault": {"type": "status", "status": 503}},
    {"name": "tag", "match": {"icap_header": {"name": "X-T", "regex": "tag"}},
     "fault": {"type": "istag_change", "istag": "X"}}]})"));
  auto svc = service_named(ctx, "OMSScanReq-AV");
  auto with = [&](std::string value) {
    auto info = reqmod_info("/f");
    info.icap.headers.add("X-T", std::move(value));
    return drive(*svc, info, {"body"});
  };
  const auto slow = with("slow");
  CHECK(slow.delay.count() >= 10);
  CHECK(slow.delay.count() <= 20);
  CHECK(slow.rule == "slow");
  const auto reset = with("reset");
  CHECK(reset.fault.kind == server::fault_kind::reset);
  CHECK(reset.fault.reset_after == 7u);
  const auto status = with("503");
  CHECK(status.action == server::response_action::respond);
  CHECK(status.status == 503);
  CHECK(with("tag").istag == "\"X\"");
}
