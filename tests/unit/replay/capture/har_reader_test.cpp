#include "icapkit/replay/capture/capture.hpp"
#include "icapkit/replay/capture/har_entry.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace icapkit::replay;
using namespace std::chrono;

namespace {

std::filesystem::path har_file(const std::string& name) {
  return std::filesystem::path(ICAPKIT_TESTDATA_DIR) / "captures" / "har" / name;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::filesystem::path write_temp(const std::string& name, const std::string& content) {
  auto path = std::filesystem::temp_directory_path() / ("icapkit_har_test_" + name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

struct read_result {
  std::vector<captured_exchange> exchanges;
  std::vector<capture_error> warnings;
  std::optional<capture_error> error;
};

read_result read_all(const std::filesystem::path& path) {
  read_result out;
  out.error = read_har(
      path,
      [&](captured_exchange&& exchange) {
        out.exchanges.push_back(std::move(exchange));
        return true;
      },
      [&](const capture_error& warning) { out.warnings.push_back(warning); });
  return out;
}

// A HAR holding the given entries (JSON objects, comma-separated).
std::string har_with(const std::string& entries) {
  return R"({"log":{"version":"1.2","creator":{"name":"test","version":"1"},"entries":[)" +
         entries + "]}}";
}

// An entry whose request has these extra members after method and url.
std::string entry_with(const std::string& url, const std::string& request_members,
                       const std::string& method = "POST") {
  return R"({"startedDateTime":"2024-03-05T10:00:00Z","request":{"method":")" + method +
         R"(","url":")" + url + R"(","httpVersion":"HTTP/1.1")" +
         (request_members.empty() ? "" : "," + request_members) + "}}";
}

read_result read_inline(const std::string& name, const std::string& content) {
  return read_all(write_temp(name, content));
}

system_clock::time_point utc(int y, unsigned mo, unsigned d, int h, int mi, int s,
                             milliseconds ms = milliseconds{0}) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s} + ms;
}

bool printable_ascii(const std::string& text) {
  for (const char c : text) {
    if (c < 0x20 || c > 0x7E) {
      return false;
    }
  }
  return true;
}

} // namespace

TEST_CASE("read_har rebuilds a browser's multipart upload from postData.params") {
  const auto result = read_all(har_file("browser_form_upload.har"));
  REQUIRE_FALSE(result.error);
  REQUIRE(result.exchanges.size() == 2);
  const auto& upload = result.exchanges[0];
  CHECK(upload.origin == "browser_form_upload.har entry 1");
  CHECK(upload.url == "http://upload.example.test:8080/upload?folder=inbox");
  CHECK(upload.head.method == "POST");
  CHECK(upload.head.target == "/upload?folder=inbox");
  CHECK(upload.head.http_version == icapkit::codec::version{1, 1});
  CHECK(upload.head.headers.count("Host") == 1);
  CHECK(upload.head.headers.get("Host") == "upload.example.test:8080");
  const std::string boundary = "----WebKitFormBoundaryq3bLrT9xk2VvHc0Z";
  CHECK(upload.body == "--" + boundary +
                           "\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n"
                           "quarterly notes\r\n--" +
                           boundary +
                           "\r\nContent-Disposition: form-data; name=\"attachment\"; "
                           "filename=\"notes.txt\"\r\nContent-Type: text/plain\r\n\r\n"
                           "Meeting notes\nItem 1: budget\nItem 2: hiring\n\r\n--" +
                           boundary + "--\r\n");
  CHECK(upload.body_captured);
  CHECK(upload.body_note.empty());
  CHECK(upload.started == utc(2024, 3, 5, 10, 15, 30, milliseconds{123}));
  REQUIRE(upload.response);
  CHECK(upload.response->head.status == 200);
  CHECK(upload.response->head.reason == "OK");
  CHECK(upload.response->body == "<p>Upload received: 1</p>\n\n");
  CHECK(upload.response->body_complete);
}

TEST_CASE("an HTTP/2 browser entry is replayed as HTTP/1.1 with a Host from the URL") {
  const auto result = read_all(har_file("browser_form_upload.har"));
  REQUIRE(result.exchanges.size() == 2);
  const auto& script = result.exchanges[1];
  CHECK(script.origin == "browser_form_upload.har entry 2");
  CHECK(script.url == "https://www.example.test/assets/app.js?v=3"); // fragment dropped
  CHECK(script.head.target == "/assets/app.js?v=3");
  CHECK(script.head.http_version == icapkit::codec::version{1, 1});
  REQUIRE_FALSE(script.head.headers.empty());
  CHECK(script.head.headers.fields().front() ==
        icapkit::codec::header_field{"Host", "www.example.test"});
  for (const auto& field : script.head.headers) {
    CHECK_FALSE(field.name.starts_with(':'));
  }
  CHECK(script.head.headers.get("accept") == "*/*");
  REQUIRE(script.response);
  CHECK(script.response->head.http_version == icapkit::codec::version{1, 1});
  CHECK(script.response->head.reason.empty());
  CHECK(script.response->head.headers.count("Set-Cookie") == 2); // Chrome joins them with \n
  // content.text is the decoded body: "content-encoding: br" no longer describes it.
  CHECK_FALSE(script.response->head.headers.contains("Content-Encoding"));
  CHECK(script.response->body.empty());
  CHECK_FALSE(script.response->body_complete); // content.size 48213, no text exported
}

TEST_CASE("read_har reads a JSON POST and its recorded response") {
  const auto result = read_all(har_file("json_api_post.har"));
  REQUIRE_FALSE(result.error);
  REQUIRE(result.exchanges.size() == 1);
  const auto& post = result.exchanges[0];
  CHECK(post.body == "{\"title\":\"Q1 report\",\"tags\":[\"finance\",\"draft\"],"
                     "\"body\":\"Revenue grew 4% \xE2\x80\x93 see attachment\"}");
  CHECK(post.body_captured); // bodySize counts bytes, the en dash is three
  CHECK(post.head.headers.get("Authorization") == "Bearer test-token-not-real");
  CHECK(post.started == utc(2024, 3, 5, 10, 15, 30, milliseconds{123})); // +01:00 applied
  REQUIRE(post.response);
  CHECK(post.response->head.status == 201);
  CHECK(post.response->head.reason == "Created");
  CHECK_FALSE(post.response->head.headers.contains("Transfer-Encoding"));
  CHECK(post.response->head.headers.get("Location") == "/v1/documents/8121");
  CHECK(post.response->body == "{\"id\":8121,\"status\":\"stored\"}\n");
  CHECK(post.response->body_complete);
}

TEST_CASE("read_har decodes base64 request bodies (postData.encoding and _encoding)") {
  const auto result = read_all(har_file("base64_upload.har"));
  REQUIRE_FALSE(result.error);
  REQUIRE(result.exchanges.size() == 2);
  CHECK(result.exchanges[0].head.method == "PUT");
  CHECK(result.exchanges[0].body ==
        R"(X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*)");
  CHECK(result.exchanges[0].body_captured);
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe\0\x01", 20);
  CHECK(result.exchanges[1].body == png);
  CHECK(result.exchanges[1].body_captured);
  CHECK(result.exchanges[1].head.target == "/upload?name=pixel.png");
}

TEST_CASE("read_har decodes recorded responses and flags content it does not hold") {
  const auto result = read_all(har_file("download_recorded_response.har"));
  REQUIRE_FALSE(result.error);
  REQUIRE(result.exchanges.size() == 3);
  const auto& gzip = result.exchanges[0].response;
  REQUIRE(gzip);
  CHECK(gzip->body.size() == 25);
  CHECK(gzip->body.starts_with("\x1f\x8b\x08"));
  CHECK(gzip->body_complete);
  REQUIRE(result.exchanges[1].response);
  CHECK(result.exchanges[1].response->body == "hello world\n");
  CHECK(result.exchanges[1].response->body_complete);
  REQUIRE(result.exchanges[2].response);
  CHECK(result.exchanges[2].response->body.empty());
  CHECK_FALSE(result.exchanges[2].response->body_complete);
  CHECK(result.exchanges[2].body_captured); // a GET without a body is whole
}

TEST_CASE("an upload whose contents the export left out is never body_captured") {
  const auto result = read_all(har_file("missing_body.har"));
  REQUIRE_FALSE(result.error);
  REQUIRE(result.exchanges.size() == 2);
  const auto& empty_text = result.exchanges[0];
  CHECK_FALSE(empty_text.body_captured);
  CHECK(empty_text.body_note ==
        "postData.text is 0 bytes, bodySize says 52311 and Content-Length says 52311");
  const auto& file_param = result.exchanges[1];
  CHECK_FALSE(file_param.body_captured);
  CHECK(file_param.body_note == "postData.params[1] (file \"scan.pdf\") has no content");
  CHECK(file_param.body.find("name=\"case\"\r\n\r\n4411\r\n") != std::string::npos);
  CHECK_FALSE(file_param.response); // status 0: the browser got no response
}

TEST_CASE("mitmproxy-style entries: text wins over params, custom fields are ignored") {
  const auto result = read_all(har_file("mitmproxy_style.har"));
  REQUIRE_FALSE(result.error);
  REQUIRE(result.exchanges.size() == 2);
  CHECK(result.exchanges[0].body == "user=alice&comment=hello+world%21");
  CHECK(result.exchanges[0].body_captured);
  CHECK(result.exchanges[0].started == utc(2024, 3, 5, 10, 50, 0, milliseconds{250}));
  const auto& search = result.exchanges[1];
  CHECK(search.body == "q=a+b%26c"); // empty text: rebuilt from params
  CHECK(search.body_captured);
  CHECK(search.head.http_version == icapkit::codec::version{1, 1});
  CHECK(search.head.headers.get("Host") == "search.example.test");
  REQUIRE(search.response);
  CHECK(search.response->body.size() == 20);
  CHECK(search.response->body_complete);
}

TEST_CASE("a truncated HAR keeps the entries before the cut and names the byte") {
  const auto path = har_file("bad/truncated.har");
  const auto result = read_all(path);
  REQUIRE(result.exchanges.size() == 1);
  CHECK(result.exchanges[0].body == "first upload");
  REQUIRE(result.error);
  CHECK(result.error->entry == "entry 2");
  CHECK(result.error->offset == std::filesystem::file_size(path));
  CHECK(result.error->detail.starts_with("syntax error")); // cut inside a string
  CHECK(result.error->message().starts_with(path.string() + ": entry 2 (byte "));
}

TEST_CASE("malformed HAR files are reported with the field and the entry's offset") {
  const auto not_har = read_all(har_file("bad/not_har.json"));
  REQUIRE(not_har.error);
  CHECK(not_har.error->detail == "not a HAR file: no \"log.entries\" array");
  CHECK(not_har.exchanges.empty());

  const auto base64_path = har_file("bad/bad_base64.har");
  const auto bad_base64 = read_all(base64_path);
  CHECK(bad_base64.exchanges.size() == 1);
  REQUIRE(bad_base64.error);
  CHECK(bad_base64.error->entry == "entry 2");
  CHECK(bad_base64.error->detail.starts_with("request.postData.text: invalid base64"));
  const std::string text = read_text(base64_path);
  const auto second = text.find("\"startedDateTime\"", text.find("\"startedDateTime\"") + 1);
  CHECK(bad_base64.error->offset == text.rfind('{', second));

  const auto wrong_type = read_all(har_file("bad/wrong_type.har"));
  REQUIRE(wrong_type.error);
  CHECK(wrong_type.error->entry == "entry 1");
  CHECK(wrong_type.error->detail == "request.postData.params: expected an array");
}

TEST_CASE("files that are not HAR documents are reported, never thrown") {
  CHECK(read_inline("empty.har", "").error->detail == "is empty, not a HAR file");
  CHECK(read_all("/nonexistent/icapkit/x.har").error->detail.starts_with("cannot be opened"));
  CHECK(read_inline("array.har", "[1,2]").error->detail ==
        "not a HAR file: the top level is not a JSON object");
  CHECK(read_inline("scalar.har", "42").error->detail ==
        "not a HAR file: the top level is not a JSON object");
  CHECK(read_inline("nolog.har", R"({"entries":[],"x":{"log":{}}})").error->detail ==
        "not a HAR file: no \"log\" object");
  CHECK(read_inline("logarray.har", R"({"log":[]})").error->detail == "log: expected an object");
  CHECK(read_inline("entriesobj.har", R"({"log":{"entries":{}}})").error->detail ==
        "log.entries: expected an array");
  const auto scalar_entry = read_inline("scalar_entry.har", har_with("1"));
  REQUIRE(scalar_entry.error);
  CHECK(scalar_entry.error->entry == "entry 1");
  CHECK(scalar_entry.error->detail == "expected an object");
  CHECK_FALSE(read_inline("no_entries_ok.har", har_with("")).error);

  // Invalid UTF-8 inside a string: nlohmann rejects it; the message stays printable.
  const auto bad_utf8 = read_inline("utf8.har", har_with(entry_with("http://a.test/\xC3(", "")));
  REQUIRE(bad_utf8.error);
  CHECK(bad_utf8.error->entry == "entry 1");
  CHECK(bad_utf8.error->detail.starts_with("syntax error"));
  CHECK(printable_ascii(bad_utf8.error->message()));
}

TEST_CASE("required request fields and wrong types name the field") {
  const auto detail = [](const std::string& entry) {
    const auto result = read_inline("fields.har", har_with(entry));
    return result.error ? result.error->detail : std::string("no error");
  };
  CHECK(detail(R"({"startedDateTime":"x"})") == "request: missing");
  CHECK(detail(R"({"request":{"url":"http://a.test/"}})") == "request.method: missing");
  CHECK(detail(R"({"request":{"method":"GET"}})") == "request.url: missing");
  CHECK(detail(R"({"request":{"method":"GET","url":7}})") == "request.url: expected a string");
  CHECK(detail(R"({"request":{"method":"G T","url":"http://a.test/"}})") ==
        "request.method: not an HTTP method token");
  CHECK(detail(entry_with("/relative", "")) == "request.url: not an absolute URL");
  CHECK(detail(entry_with("http://a.test/", R"("headers":[{"name":"A","value":1}])")) ==
        "request.headers[0].value: expected a string");
  CHECK(detail(entry_with("http://a.test/", R"("headers":[{"name":"A B","value":""}])")) ==
        "request.headers[0].name: not a valid header name");
  CHECK(detail(entry_with("http://a.test/",
                          R"("postData":{"params":[{"name":"a"},{"name":"b","value":2}]})")) ==
        "request.postData.params[1].value: expected a string");
  CHECK(detail(entry_with("http://a.test/", R"("bodySize":"12")")) ==
        "request.bodySize: expected an integer");
  CHECK(detail(entry_with("http://a.test/", R"("postData":{"text":"x","encoding":"gzip"})")) ==
        "request.postData.encoding: unsupported encoding \"gzip\"");
  CHECK(detail(R"({"request":{"method":"GET","url":"http://a.test/"},"response":{}})") ==
        "response.status: missing");
  CHECK(detail(R"({"request":{"method":"GET","url":"http://a.test/"},)"
               R"("response":{"status":200,"content":{"text":"%%","encoding":"base64"}}})")
            .starts_with("response.content.text: invalid base64"));
}

TEST_CASE("read_har rebuilds form bodies from params without text") {
  SUBCASE("urlencoded, percent-encoding names and values") {
    const auto result =
        read_inline("form.har", har_with(entry_with("http://a.test/f",
                                                    R"("postData":{"mimeType":)"
                                                    R"("application/x-www-form-urlencoded",)"
                                                    R"("params":[{"name":"a b","value":"1+1=2"},)"
                                                    R"({"name":"é","value":"~"}]})")));
    REQUIRE(result.exchanges.size() == 1);
    CHECK(result.exchanges[0].body == "a+b=1%2B1%3D2&%C3%A9=%7E");
  }
  SUBCASE("multipart without a boundary anywhere: one is generated and sent in Content-Type") {
    const auto result = read_inline(
        "multi.har",
        har_with(entry_with("http://a.test/u", R"("postData":{"mimeType":"multipart/form-data",)"
                                               R"("params":[{"name":"f","fileName":"a\"b.bin",)"
                                               R"("value":"AAEC","encoding":"base64"}]})")));
    REQUIRE(result.exchanges.size() == 1);
    const auto& exchange = result.exchanges[0];
    const auto content_type = exchange.head.headers.get("Content-Type");
    REQUIRE(content_type);
    REQUIRE(content_type->starts_with("multipart/form-data; boundary="));
    const std::string boundary(content_type->substr(30));
    CHECK(exchange.body == "--" + boundary +
                               "\r\nContent-Disposition: form-data; name=\"f\"; "
                               "filename=\"a%22b.bin\"\r\nContent-Type: application/octet-stream"
                               "\r\n\r\n" +
                               std::string("\0\1\2", 3) + "\r\n--" + boundary + "--\r\n");
    CHECK(exchange.body_captured);
  }
  SUBCASE("multipart boundary from mimeType when the header has none") {
    const auto result = read_inline(
        "multi2.har",
        har_with(entry_with("http://a.test/u", R"("headers":[{"name":"Content-Type","value":)"
                                               R"("multipart/form-data"}],"postData":{"mimeType":)"
                                               R"("multipart/form-data; boundary=\"xyz\"",)"
                                               R"("params":[{"name":"n","value":"v"}]})")));
    REQUIRE(result.exchanges.size() == 1);
    CHECK(result.exchanges[0].head.headers.get("Content-Type") ==
          "multipart/form-data; boundary=xyz");
    CHECK(result.exchanges[0].body.starts_with("--xyz\r\n"));
  }
}

TEST_CASE("Content-Length larger than the recorded body marks it not captured") {
  const auto result = read_inline(
      "cl.har", har_with(entry_with("http://a.test/u", R"("headers":[{"name":"Content-Length",)"
                                                       R"("value":"10"}],"bodySize":-1,)"
                                                       R"("postData":{"text":"12345"}})")));
  REQUIRE(result.exchanges.size() == 1);
  CHECK_FALSE(result.exchanges[0].body_captured);
  CHECK(result.exchanges[0].body_note == "postData.text is 5 bytes, Content-Length says 10");
}

TEST_CASE("non-HTTP entries are skipped with a warning; numbering goes on") {
  const auto result =
      read_inline("ws.har", har_with(entry_with("wss://a.test/socket", "", "GET") + "," +
                                     entry_with("http://user:pw@a.test", "", "GET")));
  REQUIRE_FALSE(result.error);
  REQUIRE(result.warnings.size() == 1);
  CHECK(result.warnings[0].entry == "entry 1");
  CHECK(result.warnings[0].offset);
  CHECK(result.warnings[0].detail.find("wss: URL is not an HTTP request") != std::string::npos);
  REQUIRE(result.exchanges.size() == 1);
  CHECK(result.exchanges[0].origin == "icapkit_har_test_ws.har entry 2");
  CHECK(result.exchanges[0].url == "http://a.test/"); // userinfo dropped, path added
  CHECK(result.exchanges[0].head.headers.get("Host") == "a.test");
}

TEST_CASE("parse_iso8601 reads HAR dates and rejects the rest") {
  using icapkit::replay::detail::parse_iso8601;
  CHECK(parse_iso8601("2024-03-05T10:15:30.123Z") ==
        utc(2024, 3, 5, 10, 15, 30, milliseconds{123}));
  CHECK(parse_iso8601("2024-03-05T10:15:30Z") == utc(2024, 3, 5, 10, 15, 30));
  CHECK(parse_iso8601("2024-03-05T12:15:30.5+02:00") ==
        utc(2024, 3, 5, 10, 15, 30, milliseconds{500}));
  CHECK(parse_iso8601("2024-03-05T05:15:30-0500") == utc(2024, 3, 5, 10, 15, 30));
  CHECK(parse_iso8601("2024-03-05T10:15:30.123456789123Z") ==
        utc(2024, 3, 5, 10, 15, 30) + nanoseconds{123456789});
  CHECK_FALSE(parse_iso8601("2024-03-05T10:15:30"));
  CHECK_FALSE(parse_iso8601("2024-02-30T10:15:30Z"));
  CHECK_FALSE(parse_iso8601("2024-03-05T25:15:30Z"));
  CHECK_FALSE(parse_iso8601("yesterday"));
  CHECK_FALSE(parse_iso8601(""));
  const auto result =
      read_inline("date.har", har_with(R"({"startedDateTime":"soon","request":{"method":"GET",)"
                                       R"("url":"http://a.test/"}})"));
  REQUIRE(result.exchanges.size() == 1);
  CHECK_FALSE(result.exchanges[0].started);
}

TEST_CASE("read_har streams 10,000 entries and stops when the sink says so") {
  std::string entries;
  for (int i = 1; i <= 10'000; ++i) {
    entries += (i == 1 ? "" : ",") +
               entry_with("http://big.test/item/" + std::to_string(i),
                          R"("headers":[{"name":"X-Seq","value":")" + std::to_string(i) +
                              R"("}],"_initiator":{"stack":[1,2,3]})",
                          "GET");
  }
  const auto path = write_temp("big.har", har_with(entries));
  const auto all = read_all(path);
  REQUIRE_FALSE(all.error);
  REQUIRE(all.exchanges.size() == 10'000);
  CHECK(all.exchanges.back().origin == "icapkit_har_test_big.har entry 10000");
  CHECK(all.exchanges.back().head.target == "/item/10000");

  std::size_t seen = 0;
  const auto stopped = read_har(path, [&](captured_exchange&&) { return ++seen < 5; });
  CHECK_FALSE(stopped);
  CHECK(seen == 5);

  // Entries reach the sink as they are parsed: a syntax error at the very end comes after all.
  const auto broken = read_inline("big_broken.har", har_with(entries + ",]"));
  CHECK(broken.exchanges.size() == 10'000);
  REQUIRE(broken.error);
  CHECK(broken.error->entry.empty());
  CHECK(broken.error->detail.starts_with("syntax error"));
}
