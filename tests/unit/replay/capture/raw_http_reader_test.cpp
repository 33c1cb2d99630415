#include "icapkit/replay/capture/capture.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace icapkit::replay;

namespace {

const std::string eicar = R"(X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*)";

std::filesystem::path raw_data(const std::string& name) {
  return std::filesystem::path(ICAPKIT_TESTDATA_DIR) / "captures" / "raw" / name;
}

std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::filesystem::path write_temp(const std::string& name, const std::string& content) {
  const auto path = std::filesystem::temp_directory_path() / ("icapkit_raw_http_test_" + name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

struct read_result {
  std::vector<captured_exchange> exchanges;
  std::vector<capture_error> warnings;
  std::optional<capture_error> error;
};

read_result read_file(const std::filesystem::path& path) {
  read_result result;
  result.error = read_raw_http(
      path,
      [&](captured_exchange&& exchange) {
        result.exchanges.push_back(std::move(exchange));
        return true;
      },
      [&](const capture_error& warning) { result.warnings.push_back(warning); });
  return result;
}

std::string header(const captured_exchange& exchange, std::string_view name) {
  return std::string(exchange.head.headers.get(name).value_or("<absent>"));
}

// "GET /n HTTP/1.1" and friends, one of three shapes so the buffer splits every kind of part.
std::string numbered_request(std::size_t n) {
  const auto id = std::to_string(n);
  switch (n % 3) {
  case 0:
    return "GET /item/" + id + " HTTP/1.1\r\nHost: bulk.example.test\r\n\r\n";
  case 1:
    return "POST /item/" + id +
           " HTTP/1.1\r\nHost: bulk.example.test\r\nContent-Length: " + std::to_string(id.size()) +
           "\r\n\r\n" + id;
  default:
    // Two chunks when the id has several digits (fewer than 10: the size is hex and decimal).
    return "POST /item/" + id + " HTTP/1.1\r\nHost: bulk.example.test\r\n" +
           "Transfer-Encoding: chunked\r\n\r\n1\r\n" + id.substr(0, 1) + "\r\n" +
           (id.size() > 1 ? std::to_string(id.size() - 1) + "\r\n" + id.substr(1) + "\r\n" : "") +
           "0\r\n\r\n";
  }
}

} // namespace

TEST_CASE("raw HTTP: a multipart upload is one exchange with its whole body") {
  const auto path = raw_data("single_post.http");
  auto result = read_file(path);
  REQUIRE_FALSE(result.error);
  REQUIRE(result.exchanges.size() == 1);
  const auto& exchange = result.exchanges[0];
  CHECK(exchange.origin == "single_post.http message 1");
  CHECK(exchange.url == "http://files.example.test/upload");
  CHECK(exchange.head.method == "POST");
  CHECK(exchange.head.target == "/upload");
  CHECK(exchange.head.http_version == icapkit::codec::version{1, 1});
  CHECK(header(exchange, "Content-Type").starts_with("multipart/form-data; boundary="));
  CHECK(exchange.body.size() == std::stoull(header(exchange, "Content-Length")));
  CHECK(exchange.body.find("filename=\"report.txt\"\r\n") != std::string::npos);
  CHECK(exchange.body.ends_with("--------------------------icapkit1234--\r\n"));
  CHECK(exchange.body_captured);
  CHECK(exchange.body_note.empty());
  CHECK_FALSE(exchange.started);
  CHECK_FALSE(exchange.response);
  CHECK(result.warnings.empty());
}

TEST_CASE("raw HTTP: messages back to back, framed by nothing, Content-Length and chunked") {
  auto result = read_file(raw_data("several.http"));
  REQUIRE_FALSE(result.error);
  REQUIRE(result.exchanges.size() == 3);
  const auto& get = result.exchanges[0];
  CHECK(get.origin == "several.http message 1");
  CHECK(get.head.method == "GET");
  CHECK(get.url == "http://www.example.test/index.html");
  CHECK(get.body.empty());
  CHECK(get.head.headers.size() == 2);

  const auto& json = result.exchanges[1];
  CHECK(json.origin == "several.http message 2");
  CHECK(json.url == "http://www.example.test/api/items?v=2");
  CHECK(json.head.target == "/api/items?v=2");
  CHECK(json.body == R"({"name":"widget","count":3})");

  const auto& chunked = result.exchanges[2];
  CHECK(chunked.origin == "several.http message 3");
  CHECK(chunked.url == "http://www.example.test:8080/api/stream");
  CHECK(chunked.body == R"({"id": 17})"); // decoded; the chunk extension is ignored
  CHECK(header(chunked, "Transfer-Encoding") == "chunked"); // as recorded
  CHECK(chunked.body_captured);
}

TEST_CASE("raw HTTP: the EICAR upload carries the test string byte for byte") {
  auto result = read_file(raw_data("eicar_upload.http"));
  REQUIRE_FALSE(result.error);
  REQUIRE(result.exchanges.size() == 1);
  CHECK(result.exchanges[0].url == "http://av-test.example.test/upload/eicar.com");
  CHECK(header(result.exchanges[0], "Content-Type") == "application/octet-stream");
  CHECK(result.exchanges[0].body == eicar);
}

TEST_CASE("raw HTTP: absolute-form targets become origin-form, Host added only when absent") {
  auto result = read_file(raw_data("absolute_form.http"));
  REQUIRE_FALSE(result.error);
  REQUIRE(result.exchanges.size() == 2);
  const auto& proxied = result.exchanges[0];
  CHECK(proxied.url == "http://origin.example.test:8080/search?q=icap");
  CHECK(proxied.head.target == "/search?q=icap");
  CHECK(header(proxied, "Host") == "origin.example.test:8080");

  const auto& secure = result.exchanges[1];
  CHECK(secure.url == "https://secure.example.test/login");
  CHECK(secure.head.target == "/login");
  CHECK(secure.head.headers.count("Host") == 1);
  CHECK(secure.body == "user=alice&password=secret");
}

TEST_CASE("raw HTTP: bare LF line ends are accepted in heads and chunked bodies") {
  auto result = read_file(raw_data("lf_only.http"));
  REQUIRE_FALSE(result.error);
  REQUIRE(result.exchanges.size() == 2);
  CHECK(result.exchanges[0].url == "http://lf.example.test/form");
  CHECK(result.exchanges[0].body == "name=value\n");
  CHECK(result.exchanges[1].url == "http://lf.example.test/chunks");
  CHECK(result.exchanges[1].body == "hello world");
}

TEST_CASE("raw HTTP: every test-data file is read to its end") {
  std::size_t good = 0;
  std::size_t bad = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(raw_data(""))) {
    if (entry.path().extension() != ".http") {
      continue;
    }
    CAPTURE(entry.path());
    auto result = read_file(entry.path());
    const bool whole =
        !result.error && std::all_of(result.exchanges.begin(), result.exchanges.end(),
                                     [](const auto& e) { return e.body_captured; });
    if (entry.path().parent_path().filename() == "bad") {
      CHECK_FALSE(whole); // a malformed file is never reported as read whole
      ++bad;
    } else {
      CHECK(whole);
      CHECK_FALSE(result.exchanges.empty());
      ++good;
    }
  }
  CHECK(good == 6);
  CHECK(bad == 5);
}

TEST_CASE("raw HTTP: a file ending inside a body delivers the exchange as not captured") {
  auto result = read_file(raw_data("bad/truncated_body.http"));
  CHECK_FALSE(result.error);
  REQUIRE(result.exchanges.size() == 1);
  CHECK_FALSE(result.exchanges[0].body_captured);
  CHECK(result.exchanges[0].body_note == "file ends 1234 bytes into a 5000-byte body");
  CHECK(result.exchanges[0].body == std::string(1234, 'A'));

  SUBCASE("chunked") {
    auto chunked = read_file(write_temp(
        "cut_chunked", "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "4\r\nabcd\r\n10\r\nefgh"));
    CHECK_FALSE(chunked.error);
    REQUIRE(chunked.exchanges.size() == 1);
    CHECK_FALSE(chunked.exchanges[0].body_captured);
    CHECK(chunked.exchanges[0].body == "abcdefgh");
    CHECK(chunked.exchanges[0].body_note ==
          "file ends inside the chunked body after 8 decoded bytes (the last chunk was never "
          "written)");
  }
  SUBCASE("a huge Content-Length is not allocated up front") {
    auto huge = read_file(
        write_temp("huge_length",
                   "POST /h HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000000000000\r\n\r\nab"));
    REQUIRE(huge.exchanges.size() == 1);
    CHECK(huge.exchanges[0].body_note == "file ends 2 bytes into a 1000000000000000-byte body");
  }
  SUBCASE("trailer fields are reported as not replayed") {
    auto trailers = read_file(write_temp(
        "trailers", "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "3\r\nabc\r\n0\r\nX-Checksum: 1\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n"));
    CHECK_FALSE(trailers.error);
    REQUIRE(trailers.exchanges.size() == 2);
    CHECK(trailers.exchanges[0].body == "abc");
    CHECK(trailers.exchanges[0].body_captured);
    REQUIRE(trailers.warnings.size() == 1);
    CHECK(trailers.warnings[0].entry == "message 1");
    CHECK(trailers.warnings[0].detail == "trailer fields after the chunked body are not replayed");
  }
  SUBCASE("only the empty line after the last chunk is missing: the body is whole") {
    auto almost = read_file(write_temp(
        "no_final_crlf",
        "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"));
    CHECK_FALSE(almost.error);
    REQUIRE(almost.exchanges.size() == 1);
    CHECK(almost.exchanges[0].body_captured);
    CHECK(almost.exchanges[0].body == "ok");
    REQUIRE(almost.warnings.size() == 1);
    CHECK(almost.warnings[0].detail.find("empty line after the last chunk") != std::string::npos);
  }
}

TEST_CASE("raw HTTP: malformed test-data files name the message and the exact byte") {
  SUBCASE("the file ends inside a head") {
    const auto path = raw_data("bad/truncated_head.http");
    auto result = read_file(path);
    CHECK(result.exchanges.size() == 1); // the first message was whole and is kept
    REQUIRE(result.error);
    CHECK(result.error->entry == "message 2");
    CHECK(result.error->offset == file_text(path).find("GET /second"));
    CHECK(result.error->detail.find("the file ends inside the request head") == 0);
  }
  SUBCASE("a chunk size that is not hex") {
    const auto path = raw_data("bad/bad_chunk.http");
    auto result = read_file(path);
    CHECK(result.exchanges.empty());
    REQUIRE(result.error);
    CHECK(result.error->entry == "message 1");
    CHECK(result.error->offset == file_text(path).find("zz\r\n"));
    CHECK(result.error->detail == "chunked body: invalid chunk size");
  }
  SUBCASE("Content-Length and Transfer-Encoding together") {
    const auto path = raw_data("bad/cl_and_te.http");
    auto result = read_file(path);
    CHECK(result.exchanges.empty());
    REQUIRE(result.error);
    CHECK(result.error->offset == file_text(path).find("Transfer-Encoding"));
    CHECK(result.error->detail.find("both Content-Length and Transfer-Encoding") == 0);
  }
  SUBCASE("a response") {
    auto result = read_file(raw_data("bad/response.http"));
    REQUIRE(result.error);
    CHECK(result.error->offset == 0);
    CHECK(result.error->detail.find("a response, not a request") == 0);
    CHECK(result.error->message().starts_with(raw_data("bad/response.http").string() +
                                              ": message 1 (byte 0): a response"));
  }
}

struct error_case {
  std::string name;
  std::string content;
  std::string at; // the error's offset is where this text first occurs in the content
  std::string detail;
  std::string entry = "message 1";
};

TEST_CASE("raw HTTP: each malformation is reported at its own byte") {
  const std::string ok = "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::vector<error_case> cases{
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "PRI",
       "HTTP/2 is not supported: raw files hold HTTP/1.x"},
      {"HTTP/3.0 version", ok + "GET / HTTP/3.0\r\nHost: h\r\n\r\n", "GET / HTTP/3",
       "HTTP/3.0 is not supported: raw files hold HTTP/1.x", "message 2"},
      {"request line", ok + "\r\nGET /\r\n\r\n", "GET /\r", "malformed request line", "message 2"},
      {"header without colon", ok + "GET /x HTTP/1.1\r\nHost: h\r\nBroken\r\n\r\n", "Broken",
       "header line without ':'", "message 2"},
      {"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
       "Host :", "whitespace between header field name and ':'"},
      {"missing Host", ok + "\nGET /x HTTP/1.1\r\nAccept: */*\r\n\r\n", "GET /x",
       "no Host header: the target \"/x\" needs one to make the request's URL", "message 2"},
      {"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nHost: b\r\n\r\n", "Host: b",
       "more than one Host header"},
      {"bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "Host",
       "Host and target do not make a valid URL \"http://a b/\": malformed URI"},
      {"authority-form", "CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", "CONNECT",
       "the target \"h:443\" cannot be replayed: expected \"/path\" or \"http://host/path\""},
      {"bad Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n1x",
       "Content-Length", "invalid Content-Length \"1x\""},
      {"negative Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
       "Content-Length", "invalid Content-Length \"-1\""},
      {"conflicting Content-Length",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\ncontent-length: 3\r\n\r\nabc",
       "content-length", "conflicting Content-Length values 2 and 3"},
      {"Content-Length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 4\r\n\r\nab",
       "Content-Length", "conflicting Content-Length values 2 and 4"},
      {"gzip coding", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
       "Transfer-Encoding", "Transfer-Encoding other than \"chunked\" cannot be decoded"},
      {"chunk terminator",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY\r\n0\r\n\r\n",
       "XY", "chunked body: chunk data not followed by CRLF"},
      {"bad trailer",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
       "bad trailer", "chunked body: malformed trailer field"},
      {"bare CR", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", "Host",
       "bad line ending (bare CR or LF)"},
      {"unframed body", "POST /a HTTP/1.1\r\nHost: h\r\n\r\nname=value\r\n", "name=value",
       "malformed request line (message 1 has no Content-Length or Transfer-Encoding: is this "
       "its body?)",
       "message 2"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto result = read_file(write_temp("error_case", c.content));
    REQUIRE(result.error);
    CHECK(result.error->entry == c.entry);
    CHECK(result.error->detail == c.detail);
    const auto at = c.content.find(c.at);
    REQUIRE(at != std::string::npos);
    CHECK(result.error->offset == at);
  }
}

TEST_CASE("raw HTTP: a head beyond 64 KiB is refused at the message start") {
  const std::string first = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string big =
      "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(70000, 'a') + "\r\n\r\n";
  auto result = read_file(write_temp("big_head", first + big));
  CHECK(result.exchanges.size() == 1);
  REQUIRE(result.error);
  CHECK(result.error->entry == "message 2");
  CHECK(result.error->offset == first.size());
  CHECK(result.error->detail == "the request head is larger than 65536 bytes");

  // Just under the limit is fine, and a long request line counts against the same limit.
  const std::string target = "/q?" + std::string(60000, 'b');
  auto fits = read_file(write_temp("long_line", "GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n"));
  REQUIRE_FALSE(fits.error);
  REQUIRE(fits.exchanges.size() == 1);
  CHECK(fits.exchanges[0].head.target == target);
}

TEST_CASE("raw HTTP: empty lines between messages are skipped; an empty file has no exchange") {
  auto blank = read_file(write_temp("blank", "\r\n\n\r\n"));
  CHECK_FALSE(blank.error);
  CHECK(blank.exchanges.empty());
  auto empty = read_file(write_temp("empty", ""));
  CHECK_FALSE(empty.error);
  CHECK(empty.exchanges.empty());

  auto spaced = read_file(write_temp(
      "spaced", "\r\n\nPOST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi\n\r\n\n"
                "GET /b HTTP/1.0\nHost: h\n\n\r\n"));
  CHECK_FALSE(spaced.error);
  REQUIRE(spaced.exchanges.size() == 2);
  CHECK(spaced.exchanges[0].body == "hi");
  CHECK(spaced.exchanges[1].origin == "icapkit_raw_http_test_spaced message 2");
  CHECK(spaced.exchanges[1].head.http_version == icapkit::codec::version{1, 0});
}

TEST_CASE("raw HTTP: a file that cannot be opened is an error without an entry") {
  auto result = read_file("/nonexistent/icapkit/requests.http");
  REQUIRE(result.error);
  CHECK(result.error->entry.empty());
  CHECK(result.error->detail.find("cannot be opened") == 0);
  auto directory = read_file(raw_data("bad"));
  REQUIRE(directory.error);
  CHECK(directory.error->detail.find("cannot be opened") == 0);
}

TEST_CASE("raw HTTP: the sink stops the reading") {
  std::vector<std::string> seen;
  auto error = read_raw_http(raw_data("several.http"), [&](captured_exchange&& exchange) {
    seen.push_back(exchange.origin);
    return seen.size() < 2;
  });
  CHECK_FALSE(error);
  CHECK(seen == std::vector<std::string>{"several.http message 1", "several.http message 2"});

  // Stopping before a malformed message means its error is never reached.
  seen.clear();
  error = read_raw_http(raw_data("bad/truncated_head.http"), [&](captured_exchange&& exchange) {
    seen.push_back(exchange.origin);
    return false;
  });
  CHECK_FALSE(error);
  CHECK(seen.size() == 1);
}

TEST_CASE("raw HTTP: 10,000 requests are delivered one by one, across buffer boundaries") {
  std::string content;
  constexpr std::size_t count = 10000;
  for (std::size_t n = 1; n <= count; ++n) {
    content += numbered_request(n);
  }
  REQUIRE(content.size() > 4 * 64 * 1024); // crosses the read buffer many times
  const auto path = write_temp("bulk", content);
  std::size_t delivered = 0;
  bool all_right = true;
  auto error = read_raw_http(path, [&](captured_exchange&& exchange) {
    ++delivered;
    const auto id = std::to_string(delivered);
    all_right = all_right && exchange.origin == "icapkit_raw_http_test_bulk message " + id &&
                exchange.url == "http://bulk.example.test/item/" + id &&
                exchange.body == (delivered % 3 == 0 ? "" : id) && exchange.body_captured;
    return true;
  });
  CHECK_FALSE(error);
  CHECK(delivered == count);
  CHECK(all_right);
}

TEST_CASE("raw HTTP: a pipe delivers each request before the next one is written") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<captured_exchange> got;
  std::thread writer([&] {
    const auto first = numbered_request(1);
    CHECK(::write(fds[1], first.data(), first.size()) == static_cast<ssize_t>(first.size()));
    std::unique_lock lock(mutex);
    // Bounded: a reader that waits for the whole file fails the check instead of hanging.
    CHECK(cv.wait_for(lock, std::chrono::seconds(10), [&] { return !got.empty(); }));
    lock.unlock();
    const auto second = numbered_request(2);
    CHECK(::write(fds[1], second.data(), second.size()) == static_cast<ssize_t>(second.size()));
    ::close(fds[1]);
  });
  auto error = read_raw_http("/dev/fd/" + std::to_string(fds[0]), [&](captured_exchange&& e) {
    std::lock_guard lock(mutex);
    got.push_back(std::move(e));
    cv.notify_all();
    return true;
  });
  writer.join();
  ::close(fds[0]);
  CHECK_FALSE(error);
  REQUIRE(got.size() == 2);
  CHECK(got[1].body == "2");
}

TEST_CASE("raw HTTP: every data file written to a pipe byte by byte reads as the whole file") {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(raw_data(""))) {
    if (entry.path().extension() != ".http") {
      continue;
    }
    CAPTURE(entry.path());
    const auto whole = read_file(entry.path());
    const auto content = file_text(entry.path());
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    // One write per byte: the reader's read() returns pieces of every size, split anywhere.
    std::thread writer([&] {
      for (char c : content) {
        if (::write(fds[1], &c, 1) != 1) {
          break;
        }
      }
      ::close(fds[1]);
    });
    const auto piecewise = read_file("/dev/fd/" + std::to_string(fds[0]));
    writer.join();
    ::close(fds[0]);
    REQUIRE(piecewise.exchanges.size() == whole.exchanges.size());
    for (std::size_t i = 0; i < whole.exchanges.size(); ++i) {
      const auto& a = whole.exchanges[i];
      const auto& b = piecewise.exchanges[i];
      CHECK(a.url == b.url);
      CHECK(a.head == b.head);
      CHECK(a.body == b.body);
      CHECK(a.body_captured == b.body_captured);
      CHECK(a.body_note == b.body_note);
    }
    REQUIRE(piecewise.error.has_value() == whole.error.has_value());
    if (whole.error) {
      CHECK(piecewise.error->offset == whole.error->offset);
      CHECK(piecewise.error->detail == whole.error->detail);
    }
  }
}
