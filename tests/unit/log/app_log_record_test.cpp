#include "icapkit/log/app_log_record.hpp"

#include <doctest/doctest.h>

using namespace icapkit::log;
using namespace std::chrono;

TEST_CASE("format_report_timestamp: RFC 3339 UTC with milliseconds") {
  const auto when = sys_days{year{2020} / 11 / 19} + hours{13} + minutes{55} + seconds{0} +
                    milliseconds{7} + microseconds{999};
  CHECK(format_report_timestamp(when) == "2020-11-19T13:55:00.007Z");
  CHECK(format_report_timestamp(system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
  const auto late =
      sys_days{year{2038} / 12 / 31} + hours{23} + minutes{59} + seconds{59} + milliseconds{999};
  CHECK(format_report_timestamp(late) == "2038-12-31T23:59:59.999Z");
}

TEST_CASE("make_record: sets what every icapkit record carries") {
  const auto when = sys_days{year{2024} / 3 / 26};
  const auto record = make_record(record_source::scan, 42, when);
  CHECK(record.report_timestamp == "2024-03-26T00:00:00.000Z");
  CHECK(record.log_id == 42U);
  CHECK(record.source == record_source::scan);
  CHECK(record.significant == false);
  CHECK(record.icap_log.action == icap_action::disabled);
  CHECK_FALSE(record.client_ip.has_value());
  CHECK_FALSE(record.file.has_value());
}
