#include "icapkit/client/body_sink.hpp"

#include <cerrno>

namespace icapkit::client {

std::error_code string_body_sink::write(std::string_view data) {
  if (data.size() > limit_ - data_.size()) {
    return std::make_error_code(std::errc::file_too_large);
  }
  data_.append(data);
  return {};
}

file_body_sink::~file_body_sink() {
  if (file_ != nullptr) {
    std::fclose(file_);
  }
}

std::error_code file_body_sink::open(const std::string& path) {
  if (file_ != nullptr) {
    std::fclose(file_);
  }
  path_ = path;
  size_ = 0;
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) {
    return {errno, std::generic_category()};
  }
  return {};
}

std::error_code file_body_sink::write(std::string_view data) {
  if (file_ == nullptr) {
    return std::make_error_code(std::errc::bad_file_descriptor);
  }
  if (!data.empty() && std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
    return {errno != 0 ? errno : EIO, std::generic_category()};
  }
  size_ += data.size();
  return {};
}

std::error_code file_body_sink::finish() {
  if (file_ == nullptr) {
    return {};
  }
  const int failed = std::fclose(file_);
  file_ = nullptr;
  if (failed != 0) {
    return {errno != 0 ? errno : EIO, std::generic_category()};
  }
  return {};
}

} // namespace icapkit::client
