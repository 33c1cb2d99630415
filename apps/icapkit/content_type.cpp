#include "content_type.hpp"

#include "icapkit/codec/message.hpp"

#include <array>
#include <utility>

namespace icapkit::app {

namespace {

// The types a browser's upload form commonly sends; sorted by nothing, searched linearly (small).
constexpr std::array<std::pair<std::string_view, std::string_view>, 44> known_types{{
    {"txt", "text/plain"},
    {"log", "text/plain"},
    {"csv", "text/csv"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"css", "text/css"},
    {"js", "text/javascript"},
    {"mjs", "text/javascript"},
    {"xml", "application/xml"},
    {"json", "application/json"},
    {"pdf", "application/pdf"},
    {"rtf", "application/rtf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tgz", "application/gzip"},
    {"bz2", "application/x-bzip2"},
    {"xz", "application/x-xz"},
    {"7z", "application/x-7z-compressed"},
    {"rar", "application/vnd.rar"},
    {"tar", "application/x-tar"},
    {"jar", "application/java-archive"},
    {"exe", "application/x-msdownload"},
    {"dll", "application/x-msdownload"},
    {"msi", "application/x-msi"},
    {"com", "application/x-msdownload"},
    {"sh", "application/x-sh"},
    {"doc", "application/msword"},
    {"xls", "application/vnd.ms-excel"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"webp", "image/webp"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"eml", "message/rfc822"},
    {"iso", "application/x-iso9660-image"},
}};

} // namespace

std::string_view file_extension(std::string_view file_name) noexcept {
  const auto slash = file_name.find_last_of('/');
  if (slash != std::string_view::npos) {
    file_name.remove_prefix(slash + 1);
  }
  const auto dot = file_name.find_last_of('.');
  if (dot == std::string_view::npos || dot == 0) {
    return {};
  }
  return file_name.substr(dot + 1);
}

std::string_view guess_content_type(std::string_view file_name) noexcept {
  const auto extension = file_extension(file_name);
  for (const auto& [known, type] : known_types) {
    if (codec::iequals(known, extension)) {
      return type;
    }
  }
  return "application/octet-stream";
}

} // namespace icapkit::app
