#include "icapkit/replay/junit.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

using namespace icapkit;
using namespace icapkit::replay;

namespace {

using result_list = std::vector<std::pair<outcome, check_result>>;

outcome request(std::size_t index, std::string url) {
  outcome o;
  o.index = index;
  o.origin = "uploads.har entry " + std::to_string(index);
  o.method = "POST";
  o.url = std::move(url);
  o.sent = true;
  o.action = log::icap_action::passed;
  o.status = 200;
  o.seconds = 0.25;
  return o;
}

check_result verdict_of(verdict kind, std::vector<std::string> differences = {}) {
  check_result r;
  r.kind = kind;
  r.differences = std::move(differences);
  return r;
}

std::string junit(const result_list& results, double seconds = 1.5) {
  std::ostringstream out;
  write_junit(out, "icapkit replay", results, seconds);
  return out.str();
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

// A small well-formedness check: every byte is UTF-8 text XML 1.0 allows, '&' starts one of the
// references we write, no '<' or '>' stray inside attribute values or text, and the elements
// nest (a stack of open names). Enough to catch an unescaped capture string.
bool well_formed(const std::string& xml, std::string& why) {
  std::vector<std::string> open;
  std::size_t i = 0;
  const auto is_reference = [&](std::size_t at) {
    for (const char* ref :
         {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#9;", "&#10;", "&#13;"}) {
      if (xml.compare(at, std::string(ref).size(), ref) == 0) {
        return true;
      }
    }
    return false;
  };
  for (const char c : xml) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 && c != '\n' && c != '\t' && c != '\r') {
      why = "control character " + std::to_string(byte);
      return false;
    }
  }
  while (i < xml.size()) {
    if (xml[i] == '&' && !is_reference(i)) {
      why = "bare & at " + std::to_string(i);
      return false;
    }
    if (xml[i] == '>') {
      why = "stray > at " + std::to_string(i);
      return false;
    }
    if (xml[i] != '<') {
      ++i;
      continue;
    }
    const auto end = xml.find('>', i);
    if (end == std::string::npos) {
      why = "unterminated tag";
      return false;
    }
    const auto tag = xml.substr(i + 1, end - i - 1);
    // Inside a tag, '<' and '&' outside references are errors; quotes must pair.
    if (tag.find('<') != std::string::npos || occurrences(tag, "\"") % 2 != 0) {
      why = "bad tag " + tag;
      return false;
    }
    if (tag.starts_with("/")) {
      if (open.empty() || open.back() != tag.substr(1)) {
        why = "unbalanced </" + tag.substr(1) + ">";
        return false;
      }
      open.pop_back();
    } else if (!tag.starts_with("?") && !tag.ends_with("/")) {
      open.push_back(tag.substr(0, tag.find(' ')));
    }
    i = end + 1;
  }
  if (!open.empty()) {
    why = "unclosed <" + open.back() + ">";
    return false;
  }
  return true;
}

} // namespace

TEST_CASE("junit: one testsuite, one testcase per request, counts per verdict") {
  const result_list results{
      {request(0, "http://a/ok"), verdict_of(verdict::matched)},
      {request(1, "http://a/eicar"),
       verdict_of(verdict::mismatched, {"action: expected ICAP_BLOCKED, got ICAP_PASSED",
                                        "status: expected 403, got 200"})},
      {request(2, "http://a/none"), verdict_of(verdict::no_expectation)},
  };
  auto failed = request(3, "http://a/reset");
  failed.error = "connection reset";
  auto all = results;
  all.emplace_back(failed, verdict_of(verdict::error));

  const auto xml = junit(all);
  std::string why;
  CHECK_MESSAGE(well_formed(xml, why), why);
  CHECK(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
  CHECK(xml.find("<testsuite name=\"icapkit replay\" tests=\"4\" failures=\"1\" errors=\"1\" "
                 "skipped=\"1\" time=\"1.500\">") != std::string::npos);
  CHECK(occurrences(xml, "<testsuite ") == 1);
  CHECK(occurrences(xml, "<testcase ") == 4);
  CHECK(xml.find("<testcase name=\"#0 POST http://a/ok\" classname=\"uploads.har entry 0\" "
                 "time=\"0.250\"/>") != std::string::npos);
  CHECK(xml.find("<failure message=\"action: expected ICAP_BLOCKED, got ICAP_PASSED; status: "
                 "expected 403, got 200\" type=\"mismatch\">action: expected ICAP_BLOCKED, got "
                 "ICAP_PASSED\nstatus: expected 403, got 200</failure>") != std::string::npos);
  CHECK(xml.find("<skipped message=\"no expectation\"/>") != std::string::npos);
  CHECK(xml.find("<error message=\"connection reset\" type=\"request failed\">connection "
                 "reset</error>") != std::string::npos);
}

TEST_CASE("junit: captured strings are escaped and made XML 1.0 text") {
  auto o = request(7, "http://a/?q=<script>&x='1'\"");
  o.origin = "odd\x01name\x1b[31m.har";
  o.url += std::string("\xff\xc0\xaf") + "\xEF\xBF\xBE" + "caf\xC3\xA9\t";
  const result_list results{
      {o, verdict_of(verdict::mismatched, {"threat: expected <A&B>, got \"C\"\nD"})}};
  const auto xml = junit(results);
  std::string why;
  CHECK_MESSAGE(well_formed(xml, why), why);
  CHECK(xml.find("name=\"#7 POST http://a/?q=&lt;script&gt;&amp;x=&apos;1&apos;&quot;"
                 "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                 "caf\xC3\xA9&#9;\"") != std::string::npos);
  CHECK(xml.find("classname=\"odd\xEF\xBF\xBDname\xEF\xBF\xBD[31m.har\"") != std::string::npos);
  // In the message attribute the newline is a reference; in the element text it stays.
  CHECK(xml.find("message=\"threat: expected &lt;A&amp;B&gt;, got &quot;C&quot;&#10;D\"") !=
        std::string::npos);
  CHECK(xml.find(">threat: expected &lt;A&amp;B&gt;, got &quot;C&quot;\nD</failure>") !=
        std::string::npos);
}

TEST_CASE("junit: a request not replayed without an expectation is skipped with its reason") {
  outcome o;
  o.index = 9;
  o.method = "POST";
  o.url = "http://a/upload";
  o.body_captured = false;
  o.body_note = "postData is empty";
  const auto xml = junit({{o, verdict_of(verdict::no_expectation)}}, 0);
  CHECK(xml.find("<skipped message=\"no expectation\">not replayed, body not in the capture: "
                 "postData is empty</skipped>") != std::string::npos);
  CHECK(xml.find("time=\"0.000\"") != std::string::npos);
  std::string why;
  CHECK_MESSAGE(well_formed(xml, why), why);
}

TEST_CASE("junit: no results is still a valid report") {
  const auto xml = junit({}, 0.25);
  std::string why;
  CHECK_MESSAGE(well_formed(xml, why), why);
  CHECK(xml.find("tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"0.250\"") !=
        std::string::npos);
}
