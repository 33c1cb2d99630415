// A generic c-icap virus_scan antivirus (icap-protocol.md 3.3-3.4): /avscan and /srv_clamav for
// REQMOD and RESPMOD, a quoted "CI0001-..." ISTag, X-Infection-Found with Resolution=2, a
// TAB-folded X-Violations-Found with "-" as the file name, an HTTP/1.0 403 "VIRUS FOUND" page;
// clean answers 204 (or the 200 echo). The Server header says honestly what answers.
#include "icapkit/mock/personality.hpp"
#include "icapkit/mock/vendor_common.hpp"

namespace icapkit::mock {

namespace {

class generic final : public personality {
public:
  explicit generic(const personality_options& options) : options_(options) {}

  std::string_view name() const override { return "generic"; }
  std::vector<service_spec> services() const override {
    const std::vector<codec::icap_method> both{codec::icap_method::reqmod,
                                               codec::icap_method::respmod};
    return {{"avscan", both}, {"srv_clamav", both}};
  }
  std::string istag() const override { return "\"CI0001-icapkit-mock-generic\""; }
  std::string server_header() const override { return "icapkit-mock (generic)"; }
  std::string eicar_threat() const override { return "Eicar-Test-Signature"; }

  server::options_reply options() const override {
    server::options_reply o;
    o.preview = 1024; // c-icap's default
    o.transfer_preview = "*";
    o.allow_204 = true;
    o.max_connections = options_.max_connections;
    o.options_ttl = 3600;
    o.service = "icapkit mock antivirus (c-icap virus_scan style)";
    o.extra_headers.add("X-Include", "X-Client-IP, X-Authenticated-User, X-Authenticated-Groups");
    return o;
  }

  server::response answer(answer_input& in) override {
    const auto& d = in.verdict;
    switch (d.kind) {
    case verdict_kind::block: {
      auto html = detail::html_page(
          "VIRUS FOUND",
          {"You tried to upload or download a file that contains a virus.", "Virus: " + d.threat,
           "URL: " + detail::request_url(*in.request), "The file was not delivered."});
      auto r = detail::page_response(d.http_status, "Forbidden", std::move(html), {}, {1, 0});
      r.icap_headers.add("X-Infection-Found", "Type=0; Resolution=2; Threat=" + d.threat + ";");
      r.icap_headers.add("X-Violations-Found", "1\n-\n" + d.threat + "\n0\n0");
      return r;
    }
    case verdict_kind::url_block: {
      auto html = d.page.empty() ? detail::html_page("ACCESS DENIED",
                                                     {"URL: " + detail::request_url(*in.request),
                                                      "Reason: " + d.reason})
                                 : d.page;
      return detail::page_response(d.http_status, "Forbidden", std::move(html), {}, {1, 0});
    }
    case verdict_kind::sanitize:
      return detail::sanitized_response(*in.request, std::move(in.rewritten), in.rewritten_size);
    case verdict_kind::clean:
      break;
    }
    return server::response::unmodified();
  }

private:
  personality_options options_;
};

} // namespace

std::unique_ptr<personality> make_generic(const personality_options& options) {
  return std::make_unique<generic>(options);
}

} // namespace icapkit::mock
