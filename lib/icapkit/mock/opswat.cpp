// OPSWAT MetaDefender ICAP Server, as DESIGN.md section 7 and the vendor notes record it:
// /OMSScanReq-AV (REQMOD) and /OMSScanResp-AV (RESPMOD), "Server: Metadefender Core V4", a quoted
// 12-digit ISTag, X-Response-Info on every response, the block headers with an HTTP 403 page in
// an ICAP 200, and content disarm (CDR) answered as "X-Response-Info: Sanitized".
#include "icapkit/mock/personality.hpp"
#include "icapkit/mock/vendor_common.hpp"

namespace icapkit::mock {

namespace {

constexpr std::string_view workflow = "File process"; // X-ICAP-Profile, as in the Avi log example

class opswat final : public personality {
public:
  explicit opswat(const personality_options& options) : options_(options) {}

  std::string_view name() const override { return "opswat"; }
  std::vector<service_spec> services() const override {
    return {{"OMSScanReq-AV", {codec::icap_method::reqmod}},
            {"OMSScanResp-AV", {codec::icap_method::respmod}}};
  }
  std::string istag() const override { return "\"001605794100\""; }
  std::string server_header() const override { return "Metadefender Core V4"; }
  std::string eicar_threat() const override { return "EICAR-Test-File (not a virus)"; }
  bool sanitizes() const override { return true; }

  server::options_reply options() const override {
    server::options_reply o;
    o.preview = 4096;
    o.transfer_preview = "*";
    o.allow_204 = true;
    o.max_connections = options_.max_connections;
    o.options_ttl = 3600;
    o.service = "MetaDefender ICAP Server (icapkit mock)";
    o.extra_headers.add("X-Response-Info", "Options");
    return o;
  }

  server::response answer(answer_input& in) override {
    const auto& d = in.verdict;
    switch (d.kind) {
    case verdict_kind::block:
      return block(in);
    case verdict_kind::url_block:
      return url_block(in);
    case verdict_kind::sanitize: {
      auto r = detail::sanitized_response(*in.request, std::move(in.rewritten), in.rewritten_size);
      r.icap_headers.add("X-ICAP-Profile", std::string(workflow));
      r.icap_headers.add("X-Response-Info", "Sanitized");
      return r;
    }
    case verdict_kind::clean:
      break;
    }
    auto r = server::response::unmodified();
    if (in.has_body) {
      r.icap_headers.add("X-ICAP-Profile", std::string(workflow));
    }
    r.icap_headers.add("X-Response-Info", "Allowed");
    return r;
  }

  void finish_headers(int status, codec::header_list& headers) const override {
    personality::finish_headers(status, headers);
    if (!headers.contains("X-Response-Info")) {
      // Engine-made answers: 100/200/204 let the message through; errors are not verdicts.
      headers.add("X-Response-Info", status >= 400 ? "Error" : "Allowed");
    }
  }

private:
  server::response block(const answer_input& in) const {
    const auto& d = in.verdict;
    auto html = detail::html_page("Request blocked",
                                  {"The file was blocked by MetaDefender policy (icapkit mock).",
                                   "Reason: " + d.reason, "Threat: " + d.threat,
                                   "URL: " + detail::request_url(*in.request)});
    auto r = detail::page_response(d.http_status, "Forbidden", std::move(html));
    r.icap_headers.add("X-ICAP-Profile", std::string(workflow));
    r.icap_headers.add("X-Response-Info", "Blocked");
    r.icap_headers.add("X-Response-Desc", d.reason);
    r.icap_headers.add("X-Blocked-Reason", d.reason);
    r.icap_headers.add("X-Infection-Found", "Type=0; Resolution=2; Threat=" + d.threat + ";");
    // draft-stecher-icap-subid 4.6: count, then file name, threat, problem id, resolution id.
    r.icap_headers.add("X-Violations-Found", "1\n" + in.file_name + "\n" + d.threat + "\n0\n0");
    r.icap_headers.add("X-Virus-ID", d.threat);
    return r;
  }

  server::response url_block(const answer_input& in) const {
    const auto& d = in.verdict;
    auto html =
        d.page.empty()
            ? detail::html_page("Site blocked",
                                {"Access to this URL is blocked by policy (icapkit mock).",
                                 "URL: " + detail::request_url(*in.request), "Reason: " + d.reason})
            : d.page;
    auto r = detail::page_response(d.http_status, "Forbidden", std::move(html));
    r.icap_headers.add("X-ICAP-Profile", std::string(workflow));
    r.icap_headers.add("X-Response-Info", "Blocked");
    r.icap_headers.add("X-Response-Desc", d.reason);
    r.icap_headers.add("X-Blocked-Reason", d.reason);
    return r;
  }

  personality_options options_;
};

} // namespace

std::unique_ptr<personality> make_opswat(const personality_options& options) {
  return std::make_unique<opswat>(options);
}

} // namespace icapkit::mock
