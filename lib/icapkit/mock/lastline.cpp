// NSX Defender (Lastline) ICAP: service /lastline and the five blocking modes of the NSX ALB ICAP
// guide. What "known" means here: SENSOR-KNOWN knows hashes (the exact EICAR file and scenario
// rules that match on md5/sha256); MANAGER-KNOWN, FULL and FULL-WITH-FEEDBACK know every block
// decision (EICAR anywhere, any scenario block rule). Unknown files: the KNOWN modes pass them at
// once as "new"; FULL holds the answer until the analysis time since the file was first seen has
// passed, then passes it as "known" with score 0; FULL-WITH-FEEDBACK answers a patience page
// until then. PASSIVE never blocks: it reports status, score and task in ICAP headers of a 204.
// The task UUID is the first 128 bits of the body's SHA-256, so tests can predict it.
#include "icapkit/mock/personality.hpp"
#include "icapkit/mock/vendor_common.hpp"

#include <mutex>
#include <unordered_map>

namespace icapkit::mock {

namespace {

enum class mode { passive, sensor_known, manager_known, full, full_with_feedback };

mode mode_of(const std::string& canonical) {
  if (canonical == "PASSIVE")
    return mode::passive;
  if (canonical == "SENSOR-KNOWN")
    return mode::sensor_known;
  if (canonical == "FULL")
    return mode::full;
  if (canonical == "FULL-WITH-FEEDBACK")
    return mode::full_with_feedback;
  return mode::manager_known;
}

using header_pairs = std::vector<std::pair<std::string, std::string>>;

class lastline final : public personality {
public:
  explicit lastline(const personality_options& options)
      : options_(options), mode_(mode_of(options.blocking_mode)) {}

  std::string_view name() const override { return "lastline"; }
  std::vector<service_spec> services() const override {
    return {{"lastline", {codec::icap_method::reqmod, codec::icap_method::respmod}}};
  }
  std::string istag() const override { return "\"LL-icapkit-mock-1\""; }
  std::string server_header() const override { return "icapkit-mock (nsx-defender)"; }
  std::string eicar_threat() const override { return "EICAR test file"; }

  server::options_reply options() const override {
    server::options_reply o;
    o.preview = 1000; // the Avi profile's recommendation for LASTLINE
    o.transfer_preview = "*";
    o.allow_204 = true;
    o.max_connections = options_.max_connections;
    o.options_ttl = 3600;
    o.service = "NSX Defender ICAP (icapkit mock, " + options_.blocking_mode + ")";
    return o;
  }

  server::response answer(answer_input& in) override {
    if (!in.has_body && in.verdict.kind != verdict_kind::url_block) {
      return server::response::unmodified();
    }
    const auto task = uuid_from_hex(in.sha256);
    const auto& d = in.verdict;
    if (d.kind == verdict_kind::url_block && mode_ != mode::passive) {
      return page(in, 403, "Forbidden", "Site blocked",
                  {{"X-Lastline-Status", status_or(d, "blacklist")}});
    }
    if (d.kind == verdict_kind::sanitize) {
      return detail::sanitized_response(*in.request, std::move(in.rewritten), in.rewritten_size);
    }
    if (d.kind == verdict_kind::block) {
      return malicious(in, task);
    }
    return unknown(in, task);
  }

private:
  static std::string status_or(const decision& d, std::string fallback) {
    return d.matched && d.matched->lastline.status ? *d.matched->lastline.status : fallback;
  }
  static std::uint32_t score_or(const decision& d, std::uint32_t fallback) {
    return d.matched && d.matched->lastline.score ? *d.matched->lastline.score : fallback;
  }

  server::response headers_only(const std::string& status, std::optional<std::uint32_t> score,
                                const std::string& task) const {
    auto r = server::response::unmodified();
    r.icap_headers.add("X-Lastline-Status", status);
    if (score) {
      r.icap_headers.add("X-Lastline-Score", std::to_string(*score));
    }
    r.icap_headers.add("X-Lastline-Task", task);
    return r;
  }

  server::response page(const answer_input& in, int status, std::string_view reason,
                        std::string_view title, header_pairs headers) const {
    auto html =
        detail::html_page(title, {"NSX Defender (icapkit mock) analysed this transfer.",
                                  "URL: " + detail::request_url(*in.request), "MD5: " + in.md5});
    return detail::page_response(status, reason, std::move(html), headers);
  }

  server::response malicious(const answer_input& in, const std::string& task) {
    const auto& d = in.verdict;
    const auto score = score_or(d, 100);
    const auto status = status_or(d, "known");
    const bool known = mode_ != mode::sensor_known || d.by_hash;
    if (mode_ == mode::passive || !known) {
      return headers_only(mode_ == mode::passive ? status : "new",
                          mode_ == mode::passive ? std::optional(score) : std::nullopt, task);
    }
    auto r = page(in, d.http_status, "Forbidden", "File blocked",
                  {{"X-Lastline-Status", status},
                   {"X-Lastline-Score", std::to_string(score)},
                   {"X-Lastline-Task", task}});
    const auto s = std::to_string(score);
    r.icap_headers.add("X-Infection-Found", "Type=0;Resolution=1;Threat=LastlineArtifact(score=" +
                                                s + ";md5=" + in.md5 + ";uuid=" + task + ")");
    r.icap_headers.add("X-Virus-ID", "LastlineArtifact(score=" + s + ";md5=" + in.md5 +
                                         ";task_uuid=" + task + ")");
    return r;
  }

  // How long until the analysis of `md5` is done (zero: done), registering it when first seen.
  std::chrono::milliseconds remaining_analysis(const std::string& md5) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    const auto [it, inserted] = first_seen_.try_emplace(md5, now);
    const auto done = it->second + options_.analysis_time;
    return done <= now ? std::chrono::milliseconds{0}
                       : std::chrono::ceil<std::chrono::milliseconds>(done - now);
  }

  server::response unknown(const answer_input& in, const std::string& task) {
    const auto& d = in.verdict;
    if (mode_ != mode::full && mode_ != mode::full_with_feedback) {
      return headers_only(status_or(d, "new"), d.matched ? d.matched->lastline.score : std::nullopt,
                          task);
    }
    const auto wait = remaining_analysis(in.md5);
    if (wait.count() > 0 && mode_ == mode::full_with_feedback) {
      return page(in, 200, "OK", "Analysis in progress",
                  {{"X-Lastline-Status", "new"}, {"X-Lastline-Task", task}, {"Refresh", "5"}});
    }
    auto r = headers_only(status_or(d, "known"), score_or(d, 0), task);
    r.delay = wait; // FULL: the verdict arrives when the analysis is done
    return r;
  }

  personality_options options_;
  mode mode_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> first_seen_;
};

} // namespace

std::unique_ptr<personality> make_lastline(const personality_options& options) {
  return std::make_unique<lastline>(options);
}

} // namespace icapkit::mock
