#include "icapkit/mock/server_log.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <ctime>

namespace icapkit::mock {

namespace {

std::string iso_time(std::chrono::system_clock::time_point t) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>(micros % 1000000));
  return std::string(text, n) + frac;
}

} // namespace

std::string to_json_line(const server::transaction_record& r, std::string_view vendor) {
  nlohmann::ordered_json j;
  j["time"] = iso_time(r.started);
  j["vendor"] = vendor;
  j["service"] = r.service;
  j["method"] = r.method;
  j["uri"] = r.uri;
  j["client"] = r.client;
  if (!r.x_client_ip.empty()) {
    j["x_client_ip"] = r.x_client_ip;
  }
  j["tls"] = r.tls;
  j["preview"] = r.preview ? nlohmann::ordered_json(*r.preview) : nlohmann::ordered_json(nullptr);
  j["allow_204"] = r.allow_204;
  j["allow_206"] = r.allow_206;
  j["ieof"] = r.ieof;
  j["body_bytes"] = r.body_bytes_received;
  j["bytes_received"] = r.bytes_received;
  j["bytes_sent"] = r.bytes_sent;
  j["sent_continue"] = r.sent_continue;
  if (r.trickled) {
    j["trickled"] = true;
  }
  j["decision"] = r.decision;
  j["status"] = r.status;
  j["rule"] = r.rule;
  if (!r.error.empty()) {
    j["error"] = r.error;
  }
  j["connection_closed"] = r.connection_closed;
  j["timings_us"] = {{"head", r.head_time.count()},
                     {"decision", r.decision_time.count()},
                     {"total", r.total_time.count()}};
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

server_log::~server_log() {
  if (file_ != nullptr) {
    std::fclose(file_);
  }
}

std::error_code server_log::open(const std::string& path, std::string vendor) {
  std::lock_guard lock(mutex_);
  vendor_ = std::move(vendor);
  file_ = std::fopen(path.c_str(), "ae");
  return file_ == nullptr ? std::error_code(errno, std::generic_category()) : std::error_code{};
}

void server_log::write(const server::transaction_record& record) {
  auto line = to_json_line(record, vendor_);
  line += '\n';
  std::lock_guard lock(mutex_);
  if (file_ != nullptr) {
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fflush(file_);
  }
}

} // namespace icapkit::mock
