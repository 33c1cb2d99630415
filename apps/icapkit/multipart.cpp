#include "multipart.hpp"

#include <algorithm>
#include <cstring>
#include <random>

namespace icapkit::app {

std::string make_form_boundary() {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device seed;
  std::mt19937 generator(seed());
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string boundary = "----icapkitFormBoundary";
  for (int i = 0; i < 16; ++i) {
    boundary += alphabet[pick(generator)];
  }
  return boundary;
}

std::string form_preamble(std::string_view boundary, std::string_view file_name,
                          std::string_view content_type) {
  std::string escaped;
  for (const char c : file_name) {
    switch (c) {
    case '"':
      escaped += "%22";
      break;
    case '\r':
      escaped += "%0D";
      break;
    case '\n':
      escaped += "%0A";
      break;
    default:
      escaped += c;
    }
  }
  std::string text = "--";
  text.append(boundary);
  text += "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"";
  text += escaped;
  text += "\"\r\nContent-Type: ";
  text.append(content_type);
  text += "\r\n\r\n";
  return text;
}

std::string form_epilogue(std::string_view boundary) {
  std::string text = "\r\n--";
  text.append(boundary);
  text += "--\r\n";
  return text;
}

std::string form_content_type(std::string_view boundary) {
  std::string text = "multipart/form-data; boundary=";
  text.append(boundary);
  return text;
}

multipart_body_source::multipart_body_source(codec::body_source& inner, std::string_view boundary,
                                             std::string_view file_name,
                                             std::string_view content_type)
    : inner_(inner), preamble_(form_preamble(boundary, file_name, content_type)),
      epilogue_(form_epilogue(boundary)) {}

std::optional<std::uint64_t> multipart_body_source::size() const {
  const auto inner = inner_.size();
  if (!inner) {
    return std::nullopt;
  }
  return *inner + preamble_.size() + epilogue_.size();
}

std::size_t multipart_body_source::copy_fixed(const std::string& text, std::span<char> buf) {
  const std::size_t n = std::min(buf.size(), text.size() - offset_);
  std::memcpy(buf.data(), text.data() + offset_, n);
  offset_ += n;
  return n;
}

std::size_t multipart_body_source::read(std::span<char> buf, std::error_code& ec) {
  ec.clear();
  std::size_t total = 0;
  while (total < buf.size() && stage_ != stage::done) {
    auto rest = buf.subspan(total);
    switch (stage_) {
    case stage::preamble:
      total += copy_fixed(preamble_, rest);
      if (offset_ == preamble_.size()) {
        stage_ = stage::file;
        offset_ = 0;
      }
      break;
    case stage::file: {
      const std::size_t n = inner_.read(rest, ec);
      if (ec) {
        return 0;
      }
      if (n == 0) {
        stage_ = stage::epilogue;
      }
      total += n;
      // A short read from the file: hand over what we have rather than block for more.
      if (n > 0 && n < rest.size()) {
        return total;
      }
      break;
    }
    case stage::epilogue:
      total += copy_fixed(epilogue_, rest);
      if (offset_ == epilogue_.size()) {
        stage_ = stage::done;
      }
      break;
    case stage::done:
      break;
    }
  }
  return total;
}

} // namespace icapkit::app
