#pragma once
// One scan input as the client sends it: the file (or stdin), hashed while read, optionally
// wrapped as a browser form upload. The layers refer to each other, so an input_body never moves.
#include "multipart.hpp"

#include "icapkit/codec/body_source.hpp"
#include "icapkit/net/sha256.hpp"

#include <memory>
#include <optional>
#include <string>
#include <system_error>

namespace icapkit::app {

// How the file is presented: as it is, or as multipart/form-data.
struct body_shape {
  bool multipart = false;
  std::string boundary;
  std::string file_name;    // the form's filename="..."
  std::string content_type; // of the file part
};

class input_body {
public:
  input_body() = default;
  input_body(const input_body&) = delete;
  input_body& operator=(const input_body&) = delete;

  // "-" reads stdin (descriptor 0, left open). Errors are the system's (ENOENT, EACCES, EISDIR).
  std::error_code open(const std::string& path, const body_shape& shape,
                       std::uint64_t* bytes_counter = nullptr);
  codec::body_source& wire() { return form_ ? static_cast<codec::body_source&>(*form_) : *hashed_; }
  std::optional<std::uint64_t> wire_size() const { return form_ ? form_->size() : hashed_->size(); }
  // The file as read so far (count, SHA-256). The client's own wrapper over a plain file shares
  // this digest instead of hashing the bytes again (net::hashing_body_source).
  net::hashing_body_source& file() { return *hashed_; }

private:
  codec::file_body_source file_;
  std::unique_ptr<net::hashing_body_source> hashed_;
  std::unique_ptr<multipart_body_source> form_;
};

// A fresh copy of the wire body (for a 206 "use-original-body"); null when the file cannot be
// opened again.
std::unique_ptr<codec::body_source> reopen_wire_body(const std::string& path,
                                                     const body_shape& shape);

// Copies stdin to a new temporary file (under $TMPDIR, else /tmp) so it can be read twice;
// `path` receives its name. The caller removes it.
std::error_code spool_stdin(std::string& path);

} // namespace icapkit::app
