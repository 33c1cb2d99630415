#include "icapkit/log/ndjson_writer.hpp"

#include "icapkit/log/json_encode.hpp"

namespace icapkit::log {

ndjson_writer::ndjson_writer(std::ostream& out, write_options options)
    : out_(&out), options_(options) {}

ndjson_writer::ndjson_writer(std::unique_ptr<std::ofstream> file, write_options options)
    : owned_(std::move(file)), out_(owned_.get()), options_(options) {}

result<std::unique_ptr<ndjson_writer>> ndjson_writer::open(const std::filesystem::path& path,
                                                           write_options options) {
  auto file =
      std::make_unique<std::ofstream>(path, std::ios::out | std::ios::app | std::ios::binary);
  if (!file->is_open()) {
    return read_error{make_error_code(errc::io_error), 0, "",
                      "cannot open " + path.string() + " for writing"};
  }
  return std::unique_ptr<ndjson_writer>(new ndjson_writer(std::move(file), options));
}

std::error_code ndjson_writer::write(const app_log_record& record) {
  auto line = to_json_text(record, options_);
  line += '\n';
  const std::lock_guard lock(mutex_);
  out_->clear();
  out_->write(line.data(), static_cast<std::streamsize>(line.size()));
  out_->flush();
  if (!*out_) {
    return make_error_code(errc::io_error);
  }
  return {};
}

} // namespace icapkit::log
