#include "icapkit/log/significance.hpp"

#include <doctest/doctest.h>

using namespace icapkit::log;

TEST_CASE("significance: passed and disabled without conditions are not significant") {
  for (const auto action : {icap_action::passed, icap_action::disabled}) {
    const auto result = assess_significance({.action = action});
    CHECK_FALSE(result.significant);
    CHECK(result.codes.empty());
    CHECK(result.sentence.empty());
  }
}

TEST_CASE("significance: block, modify and failure add their own codes") {
  CHECK(assess_significance({.action = icap_action::blocked}).codes ==
        std::vector{significance_code::blocked});
  CHECK(assess_significance({.action = icap_action::modified}).codes ==
        std::vector{significance_code::modified});
  const auto failed = assess_significance({.action = icap_action::failed});
  CHECK(failed.codes == std::vector{significance_code::failed});
  CHECK(failed.sentence == "ICAP processing failed.");
}

TEST_CASE("significance: conditions in Avi ADF order, one sentence") {
  significance_conditions c;
  c.action = icap_action::failed;
  c.connection_error = true;
  c.timed_out = true;
  c.slow = true;
  const auto result = assess_significance(c);
  CHECK(result.significant);
  CHECK(result.codes ==
        std::vector{significance_code::server_high_response_time, significance_code::timedout,
                    significance_code::connection_error, significance_code::failed});
  CHECK(result.sentence == "ICAP server response time above the warning threshold; ICAP request "
                           "timed out; connection to the ICAP server failed; ICAP processing "
                           "failed.");
}

TEST_CASE("significance: a passed but slow exchange is significant; body too big too") {
  const auto slow = assess_significance({.action = icap_action::passed, .slow = true});
  CHECK(slow.codes == std::vector{significance_code::server_high_response_time});
  significance_conditions big;
  big.body_too_big = true;
  big.server_error = true;
  big.out_of_memory = true;
  CHECK(assess_significance(big).codes ==
        std::vector{significance_code::out_of_memory,
                    significance_code::body_size_bigger_than_configured,
                    significance_code::server_error});
}

TEST_CASE("apply_significance: fills the record's three fields and clears them again") {
  app_log_record record;
  apply_significance(record, assess_significance({.action = icap_action::blocked}));
  CHECK(record.significant == true);
  CHECK(record.significant_log == std::vector<std::string>{"ADF_ICAP_BLOCKED"});
  CHECK(record.significance == "ICAP server blocked the request.");
  apply_significance(record, assess_significance({.action = icap_action::passed}));
  CHECK(record.significant == false);
  CHECK(record.significant_log.empty());
  CHECK_FALSE(record.significance.has_value());
}

TEST_CASE("significance: a failed exchange's sentence ends with why it failed") {
  significance_conditions c;
  c.action = icap_action::failed;
  c.server_error = true;
  c.failure = "protocol error from 127.0.0.1:1344: response_without_encapsulated (ICAP "
              "200/201/206 without an Encapsulated header)";
  CHECK(assess_significance(c).sentence ==
        "ICAP server returned an error; ICAP processing failed: protocol error from "
        "127.0.0.1:1344: response_without_encapsulated (ICAP 200/201/206 without an "
        "Encapsulated header).");
  c.action = icap_action::blocked; // only a failure has a cause to name
  CHECK(assess_significance(c).sentence.find("protocol error") == std::string::npos);
}
