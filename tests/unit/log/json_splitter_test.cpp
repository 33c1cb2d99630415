#include "icapkit/log/json_splitter.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace icapkit::log;

namespace {

// Every event for `text` pushed byte by byte: "3:{...}" for a document beginning on line 3,
// "error 3" for an error that names line 3.
std::vector<std::string> split(std::string_view text, std::size_t max_bytes = 1 << 20,
                               std::size_t max_depth = 64) {
  json_splitter splitter(max_bytes, max_depth);
  std::vector<std::string> events;
  const auto note = [&](json_splitter::event e) {
    if (e == json_splitter::event::document) {
      events.push_back(std::to_string(splitter.document_line()) + ":" +
                       std::string(splitter.document()));
    } else if (e == json_splitter::event::error) {
      events.push_back("error " + std::to_string(splitter.error().line));
    }
  };
  for (const char c : text) {
    note(splitter.push(c));
  }
  note(splitter.finish());
  return events;
}

using list = std::vector<std::string>;

} // namespace

TEST_CASE("json_splitter: NDJSON, one document a line, blank lines and CRLF skipped") {
  CHECK(split("{\"a\":1}\r\n\n  \n{\"b\":[1,{\"c\":null}]}\n{}") ==
        list{"1:{\"a\":1}", "4:{\"b\":[1,{\"c\":null}]}", "5:{}"});
  CHECK(split("").empty());
  CHECK(split(" \n\t\r\n").empty());
}

TEST_CASE("json_splitter: pretty-printed and concatenated documents") {
  const std::string pretty = "{\n  \"icap_log\": {\n    \"action\": \"ICAP_PASSED\"\n  }\n}";
  CHECK(split(pretty + "\n" + pretty) == list{"1:" + pretty, "6:" + pretty});
  CHECK(split("{\"a\":1}{\"b\":2} \t{\"c\":3}") ==
        list{"1:{\"a\":1}", "1:{\"b\":2}", "1:{\"c\":3}"});
  // Brackets, quotes and backslashes inside strings are text.
  CHECK(split(R"({"a":"}\"{[\\","b":"]"})") == list{R"(1:{"a":"}\"{[\\","b":"]"})"});
}

TEST_CASE("json_splitter: a top-level array gives its elements, however it is laid out") {
  CHECK(split("[{\"a\":1},{\"b\":2}]") == list{"1:{\"a\":1}", "1:{\"b\":2}"});
  CHECK(split("[\n  {\n    \"a\": 1\n  },\n  {\"b\": [2]}\n]\n") ==
        list{"2:{\n    \"a\": 1\n  }", "5:{\"b\": [2]}"});
  CHECK(split("[]").empty());
  CHECK(split("[ \n ]\n[]{\"a\":1}") == list{"3:{\"a\":1}"});
  CHECK(split("[{\"a\":1}]\n{\"b\":2}\n[{\"c\":3}]") ==
        list{"1:{\"a\":1}", "2:{\"b\":2}", "3:{\"c\":3}"});
}

TEST_CASE("json_splitter: an export page gives the elements of its results array") {
  CHECK(split(R"({"count": 2, "results": [{"a":1}, {"b":2}], "next": {"x": [1]}})") ==
        list{"1:{\"a\":1}", "1:{\"b\":2}"});
  CHECK(split(R"({"results":[]})").empty());
  // Pages in an array, and a page pretty-printed.
  CHECK(split("[{\"results\":[{\"a\":1}]},\n{\"count\":1,\n \"results\": [\n  {\"b\":2}\n ]\n}]") ==
        list{"1:{\"a\":1}", "4:{\"b\":2}"});
  // "results" that is not an array, or that is nested deeper, is an ordinary member.
  CHECK(split(R"({"results":1,"icap_log":{}})") == list{R"(1:{"results":1,"icap_log":{}})"});
  CHECK(split(R"({"x":{"results":[{"a":1}]}})") == list{R"(1:{"x":{"results":[{"a":1}]}})"});
}

TEST_CASE("json_splitter: a leading UTF-8 byte order mark is skipped") {
  CHECK(split("\xEF\xBB\xBF{\"a\":1}\n") == list{"1:{\"a\":1}"});
  CHECK(split("\xEF\xBB{\"a\":1}\n{\"b\":2}") == list{"error 1", "2:{\"b\":2}"});
}

TEST_CASE("json_splitter: a broken document costs that document only") {
  // A truncated NDJSON line (inside and outside a string): the next line is read.
  CHECK(split("{\"a\":1}\n{\"a\":\"tru\n{\"b\":2}\n") ==
        list{"1:{\"a\":1}", "error 2", "3:{\"b\":2}"});
  CHECK(split("{\"a\":1,\n{\"b\":2}\n") == list{"error 1", "2:{\"b\":2}"});
  CHECK(split("{\"a\":[1\n{\"b\":2}\n") == list{"error 1", "2:{\"b\":2}"});
  // A pretty document with a missing comma: the rest of it is skipped, the next one read.
  CHECK(split("{\n  \"a\": 1\n  \"b\": {\n    \"c\": 2\n  }\n}\n{\n  \"d\": 3\n}\n") ==
        list{"error 1", "7:{\n  \"d\": 3\n}"});
  // In an array: the next element is read, the array still closes.
  CHECK(split("[\n{\"a\":1},\n{\"a\" 1},\n{\"b\":2}\n]\n{\"c\":3}") ==
        list{"2:{\"a\":1}", "error 3", "4:{\"b\":2}", "6:{\"c\":3}"});
  // A missing comma between elements.
  CHECK(split("[\n{\"a\":1}\n{\"b\":2}\n]") == list{"2:{\"a\":1}", "error 3", "3:{\"b\":2}"});
  // Mismatched brackets, a stray closer, a trailing comma.
  CHECK(split("{\"a\":[1}\n{\"b\":2}") == list{"error 1", "2:{\"b\":2}"});
  CHECK(split("}\n{\"b\":2}") == list{"error 1", "2:{\"b\":2}"});
  CHECK(split("{\"a\":1,}\n{\"b\":2}") == list{"error 1", "2:{\"b\":2}"});
}

TEST_CASE("json_splitter: lines that are not JSON objects are one error each") {
  CHECK(split("hello world\n{\"a\":1}\n42\n\"text\"\n{\"b\":2}") ==
        list{"error 1", "2:{\"a\":1}", "error 3", "error 4", "5:{\"b\":2}"});
  CHECK(split("[1, 2]\n{\"a\":1}") == list{"error 1", "2:{\"a\":1}"});
  CHECK(split(std::string("\0\x01\xff{\x80\n", 6)) == list{"error 1"});
}

TEST_CASE("json_splitter: input that ends inside a document or an array is one error") {
  CHECK(split("{\"a\":1}\n{\"a\":") == list{"1:{\"a\":1}", "error 2"});
  CHECK(split("{\"a\":\"x") == list{"error 1"});
  CHECK(split("[{\"a\":1},") == list{"1:{\"a\":1}", "error 1"});
  CHECK(split("{\"count\":1,\"results\":[{\"a\":1}") == list{"1:{\"a\":1}", "error 1"});
}

TEST_CASE("json_splitter: limits on size and depth; the error names the problem") {
  const std::string big = "{\"a\":\"" + std::string(200, 'x') + "\"}";
  CHECK(split(big + "\n{\"b\":2}", 100) == list{"error 1", "2:{\"b\":2}"});
  json_splitter splitter(100, 64);
  json_splitter::event last = json_splitter::event::none;
  for (const char c : big) {
    last = splitter.push(c);
  }
  REQUIRE(last == json_splitter::event::error);
  CHECK(splitter.error().code == errc::line_too_long);
  CHECK(splitter.error().message() == "line 1: document longer than 100 bytes");

  CHECK(split("{\"a\":[[1]]}", 1000, 3) == list{"1:{\"a\":[[1]]}"});
  CHECK(split("{\"a\":[[[1]]]}\n{}", 1000, 3) == list{"error 1", "2:{}"});

  json_splitter pretty(1000, 64);
  for (const char c : std::string_view("{\n \"a\": 1\n \"b\": 2\n}")) {
    last = pretty.push(c);
    if (last == json_splitter::event::error) {
      break;
    }
  }
  REQUIRE(last == json_splitter::event::error);
  CHECK(pretty.error().message() ==
        "line 1: invalid JSON: expected ',' or '}' but found '\"' at line 3, column 2");
}

namespace {

// A random JSON object: nested objects and arrays, strings with escapes, brackets and UTF-8,
// numbers and literals; keys now and then "results", so pages and records are told apart.
nlohmann::ordered_json random_object(std::mt19937& random, int depth) {
  static const std::vector<std::string> strings{"",
                                                "plain",
                                                "with \"quotes\" and \\backslashes\\",
                                                "{[brackets]}",
                                                "caf\xc3\xa9 \xe2\x82\xac",
                                                "tab\there",
                                                "line\nbreak",
                                                "results"};
  const auto pick = [&random](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(random);
  };
  const auto value = [&](auto&& self, int level) -> nlohmann::ordered_json {
    switch (level <= 0 ? pick(5) : pick(7)) {
    case 0:
      return strings[pick(strings.size())];
    case 1:
      return static_cast<std::int64_t>(random()) - 1000000;
    case 2:
      return pick(2) == 0;
    case 3:
      return nullptr;
    case 4:
      return 0.5 * static_cast<double>(pick(1000));
    case 5: {
      auto array = nlohmann::ordered_json::array();
      for (std::size_t i = pick(4); i > 0; --i) {
        array.push_back(self(self, level - 1));
      }
      return array;
    }
    default: {
      auto object = nlohmann::ordered_json::object();
      for (std::size_t i = pick(4); i > 0; --i) {
        object[strings[pick(strings.size())] + std::to_string(i)] = self(self, level - 1);
      }
      return object;
    }
    }
  };
  auto object = nlohmann::ordered_json::object();
  for (std::size_t i = pick(5); i > 0; --i) {
    object["k" + std::to_string(i)] = value(value, depth);
  }
  return object;
}

} // namespace

TEST_CASE("json_splitter: random documents in every layout come back exactly; mutations never "
          "crash") {
  std::mt19937 random(13);
  for (int round = 0; round < 100; ++round) {
    std::vector<nlohmann::ordered_json> documents;
    for (int i = 0; i < 5; ++i) {
      documents.push_back(random_object(random, 4));
    }
    std::string text;
    const int layout = round % 4;
    if (layout == 1 || layout == 3) {
      text += "[\n";
    }
    for (std::size_t i = 0; i < documents.size(); ++i) {
      const int indent = round % 3 == 0 ? -1 : static_cast<int>(round % 5);
      text += documents[i].dump(indent);
      if ((layout == 1 || layout == 3) && i + 1 < documents.size()) {
        text += ",";
      }
      text += layout == 2 ? " \t" : "\r\n";
    }
    if (layout == 1 || layout == 3) {
      text += "]";
    }
    if (layout == 3) {
      text = "{\"count\": 5, \"results\": " + text + ", \"next\": null}";
    }
    json_splitter splitter(1 << 20, 64);
    std::vector<nlohmann::ordered_json> read;
    for (const char c : text) {
      if (const auto e = splitter.push(c); e == json_splitter::event::document) {
        read.push_back(nlohmann::ordered_json::parse(splitter.document()));
      } else {
        REQUIRE_MESSAGE(e == json_splitter::event::none, splitter.error().message(), "\n", text);
      }
    }
    REQUIRE(splitter.finish() == json_splitter::event::none);
    CHECK(read == documents);

    // Mutated: whatever comes out is a document the parser may reject, never a crash or a hang.
    for (int m = 0; m < 20; ++m) {
      auto mutated = text;
      for (int k = 0; k < 3; ++k) {
        const auto at = std::uniform_int_distribution<std::size_t>(0, mutated.size() - 1)(random);
        mutated[at] = "{}[],:\"\\\n x0\xff"[random() % 14];
      }
      json_splitter again(1 << 20, 64);
      for (const char c : mutated) {
        if (again.push(c) == json_splitter::event::document) {
          const auto parsed = nlohmann::ordered_json::parse(again.document(), nullptr, false);
          CHECK((parsed.is_discarded() || parsed.is_object() || parsed.is_array()));
        }
      }
      (void)again.finish();
    }
  }
}
