#include "icapkit/log/significance.hpp"

namespace icapkit::log {

std::string_view describe(significance_code code) noexcept {
  switch (code) {
  case significance_code::server_high_response_time:
    return "ICAP server response time above the warning threshold";
  case significance_code::blocked:
    return "ICAP server blocked the request";
  case significance_code::modified:
    return "ICAP server modified the request";
  case significance_code::out_of_memory:
    return "ICAP processing ran out of memory";
  case significance_code::timedout:
    return "ICAP request timed out";
  case significance_code::body_size_bigger_than_configured:
    return "request body bigger than the configured buffer size, not sent to the ICAP server";
  case significance_code::connection_error:
    return "connection to the ICAP server failed";
  case significance_code::server_error:
    return "ICAP server returned an error";
  case significance_code::failed:
    return "ICAP processing failed";
  }
  return "ICAP processing failed";
}

significance_result assess_significance(const significance_conditions& conditions) {
  const bool failed_action = conditions.action == icap_action::failed;
  // One flag per code, indexed like all_values<significance_code>() so the output keeps Avi order.
  const bool present[] = {conditions.slow,
                          conditions.action == icap_action::blocked,
                          conditions.action == icap_action::modified,
                          conditions.out_of_memory,
                          conditions.timed_out,
                          conditions.body_too_big,
                          conditions.connection_error,
                          conditions.server_error,
                          failed_action};
  significance_result result;
  std::size_t index = 0;
  for (const auto code : all_values<significance_code>()) {
    if (present[index++]) {
      result.codes.push_back(code);
    }
  }
  result.significant = !result.codes.empty();
  for (const auto code : result.codes) {
    if (!result.sentence.empty()) {
      result.sentence += "; ";
    }
    result.sentence += describe(code);
  }
  if (failed_action && !conditions.failure.empty()) {
    result.sentence += ": " + conditions.failure;
  }
  if (result.significant) {
    result.sentence += '.';
  }
  return result;
}

void apply_significance(app_log_record& record, const significance_result& result) {
  record.significant = result.significant;
  record.significant_log.clear();
  for (const auto code : result.codes) {
    record.significant_log.emplace_back(to_string(code));
  }
  if (result.significant) {
    record.significance = result.sentence;
  } else {
    record.significance.reset();
  }
}

} // namespace icapkit::log
