#include "icapkit/log/app_log_record.hpp"

#include <cstdio>
#include <ctime>

namespace icapkit::log {

std::string format_report_timestamp(std::chrono::system_clock::time_point when) {
  using namespace std::chrono;
  const auto millis = floor<milliseconds>(when);
  const auto days_since_epoch = floor<days>(millis);
  const year_month_day date{days_since_epoch};
  const hh_mm_ss time{millis - days_since_epoch};
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()),
                static_cast<int>(time.subseconds().count()));
  return buffer;
}

app_log_record make_record(record_source source, std::uint64_t log_id,
                           std::chrono::system_clock::time_point when) {
  app_log_record record;
  record.report_timestamp = format_report_timestamp(when);
  record.log_id = log_id;
  record.source = source;
  record.significant = false;
  return record;
}

} // namespace icapkit::log
