#include "icapkit/client/threat_headers.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace icapkit::client;
using icapkit::log::violation_resolution;

TEST_CASE("X-Infection-Found: the draft's form, exactly") {
  const auto r = parse_infection_found("Type=0; Resolution=2; Threat=EICAR Test String;");
  REQUIRE(r);
  CHECK(r->type == 0);
  CHECK(r->resolution == 2);
  CHECK(r->threat == "EICAR Test String");
}

TEST_CASE("X-Infection-Found: any order, no spaces, no final ';', any case") {
  const auto r = parse_infection_found("threat=Trojan.Gen.2;RESOLUTION=1;type = 1");
  REQUIRE(r);
  CHECK(r->type == 1);
  CHECK(r->resolution == 1);
  CHECK(r->threat == "Trojan.Gen.2");

  const auto spaced = parse_infection_found("  Type = 0 ;  Resolution= 2 ; Threat= A B C ;  ");
  REQUIRE(spaced);
  CHECK(spaced->type == 0);
  CHECK(spaced->resolution == 2);
  CHECK(spaced->threat == "A B C");
}

TEST_CASE("X-Infection-Found: NSX Defender's LastlineArtifact keeps ';' inside parentheses") {
  const auto r = parse_infection_found(
      "Type=0;Resolution=1;Threat=LastlineArtifact(score=90;md5=44d88612fea8a8f36de82e1278abb02f;"
      "uuid=9e1a2b3c4d5e4f60a1b2c3d4e5f60718)");
  REQUIRE(r);
  CHECK(r->type == 0);
  CHECK(r->resolution == 1);
  CHECK(r->threat == "LastlineArtifact(score=90;md5=44d88612fea8a8f36de82e1278abb02f;"
                     "uuid=9e1a2b3c4d5e4f60a1b2c3d4e5f60718)");
  // Threat first, then parameters after the closing parenthesis.
  const auto first = parse_infection_found("Threat=X(a;b);Type=2;Resolution=0;");
  REQUIRE(first);
  CHECK(first->threat == "X(a;b)");
  CHECK(first->type == 2);
  CHECK(first->resolution == 0);
}

TEST_CASE("X-Infection-Found: a ';' inside the threat text that does not start a parameter") {
  const auto r = parse_infection_found("Type=0; Resolution=2; Threat=Win.Test; variant A; ");
  REQUIRE(r);
  CHECK(r->threat == "Win.Test; variant A");
  CHECK(r->resolution == 2);
}

TEST_CASE("X-Infection-Found: truncated, partial, odd and blank values") {
  // Avi's own example record is cut after "Type=0".
  const auto cut = parse_infection_found("Type=0");
  REQUIRE(cut);
  CHECK(cut->type == 0);
  CHECK_FALSE(cut->resolution);
  CHECK(cut->threat.empty());

  const auto bad_numbers = parse_infection_found("Type=virus; Resolution=; Threat=x;");
  REQUIRE(bad_numbers);
  CHECK_FALSE(bad_numbers->type);
  CHECK_FALSE(bad_numbers->resolution);
  CHECK(bad_numbers->threat == "x");

  const auto unbalanced = parse_infection_found("Type=0; Threat=LastlineArtifact(score=1;md5=;");
  REQUIRE(unbalanced);
  CHECK(unbalanced->threat == "LastlineArtifact(score=1;md5=");

  const auto free_text = parse_infection_found("EICAR Test String;");
  REQUIRE(free_text);
  CHECK_FALSE(free_text->type);
  CHECK(free_text->threat == "EICAR Test String");

  const auto unknown = parse_infection_found("Type=0; Engine=clam; Threat=T;");
  REQUIRE(unknown);
  CHECK(unknown->threat == "T");

  CHECK_FALSE(parse_infection_found(""));
  CHECK_FALSE(parse_infection_found(" \t "));
  const auto semis = parse_infection_found(";;;");
  REQUIRE(semis);
  CHECK(semis->threat.empty());
}

TEST_CASE("X-Violations-Found: c-icap's TAB-folded single violation as header_list keeps it") {
  // The codec joins folded lines with "\n" and drops the continuation whitespace.
  const auto r = parse_violations_found("1\n-\nTest.EICAR.Custom-NDB.UNOFFICIAL\n0\n0");
  REQUIRE(r.announced == 1);
  CHECK_FALSE(r.truncated);
  REQUIRE(r.violations.size() == 1);
  CHECK_FALSE(r.violations[0].file_name); // c-icap's "-" = no file name
  CHECK(r.violations[0].threat_name == "Test.EICAR.Custom-NDB.UNOFFICIAL");
  CHECK(r.violations[0].problem_id == 0);
  CHECK(r.violations[0].resolution == violation_resolution::file_not_repaired);
}

TEST_CASE("X-Violations-Found: two violations, every resolution id, CRLF and indentation") {
  const auto r = parse_violations_found("2\r\n     test.zip/dir1/eicar.com\r\n     EICAR Test "
                                        "String\r\n     11101\r\n     2\r\n\ttest.zip/dir2/"
                                        "x.exe\r\n\tTrojan X\r\n\t7\r\n\t1\r\n");
  REQUIRE(r.violations.size() == 2);
  CHECK_FALSE(r.truncated);
  CHECK(r.violations[0].file_name == "test.zip/dir1/eicar.com");
  CHECK(r.violations[0].threat_name == "EICAR Test String");
  CHECK(r.violations[0].problem_id == 11101);
  CHECK(r.violations[0].resolution == violation_resolution::violating_section_removed);
  CHECK(r.violations[1].file_name == "test.zip/dir2/x.exe");
  CHECK(r.violations[1].resolution == violation_resolution::file_repaired);
  const auto odd = parse_violations_found("1\nf\nt\nabc\n9");
  REQUIRE(odd.violations.size() == 1);
  CHECK_FALSE(odd.violations[0].problem_id);
  CHECK_FALSE(odd.violations[0].resolution);
}

TEST_CASE("X-Violations-Found: count alone, fewer lines than announced, more, bad count") {
  const auto alone = parse_violations_found("1");
  CHECK(alone.announced == 1);
  CHECK(alone.violations.empty());
  CHECK(alone.truncated);

  const auto zero = parse_violations_found("0");
  CHECK(zero.violations.empty());
  CHECK_FALSE(zero.truncated);

  const auto short_by_one = parse_violations_found("2\na\nA\n1\n0\nb\nB\n2");
  REQUIRE(short_by_one.violations.size() == 1);
  CHECK(short_by_one.violations[0].file_name == "a");
  CHECK(short_by_one.truncated);

  const auto extra = parse_violations_found("1\na\nA\n1\n0\nb\nB\n2\n1");
  CHECK(extra.violations.size() == 1);
  CHECK_FALSE(extra.truncated);

  const auto huge = parse_violations_found("18446744073709551615\na\nA\n1\n0");
  CHECK(huge.violations.size() == 1);
  CHECK(huge.truncated);

  const auto bad = parse_violations_found("many\na\nA\n1\n0");
  CHECK_FALSE(bad.announced);
  CHECK(bad.violations.empty());
  CHECK(bad.truncated);
  CHECK(parse_violations_found("") == violations_found{});
}

TEST_CASE("LastlineArtifact: uuid= and task_uuid= forms, placeholders, absence") {
  const auto infection = parse_lastline_artifact(
      "LastlineArtifact(score=100;md5=44d88612fea8a8f36de82e1278abb02f;uuid=abc-123)");
  REQUIRE(infection);
  CHECK(infection->score == 100);
  CHECK(infection->md5 == "44d88612fea8a8f36de82e1278abb02f");
  CHECK(infection->task_uuid == "abc-123");

  const auto virus_id = parse_lastline_artifact("lastlineartifact( score = 42 ; task_uuid=t-9 )");
  REQUIRE(virus_id);
  CHECK(virus_id->score == 42);
  CHECK_FALSE(virus_id->md5);
  CHECK(virus_id->task_uuid == "t-9");

  // The guide's own placeholders: score=XX, empty md5 and uuid.
  const auto placeholder = parse_lastline_artifact("LastlineArtifact(score=XX;md5=;uuid=)");
  REQUIRE(placeholder);
  CHECK(*placeholder == lastline_artifact{});

  const auto out_of_range = parse_lastline_artifact("LastlineArtifact(score=101");
  REQUIRE(out_of_range);
  CHECK_FALSE(out_of_range->score);

  CHECK_FALSE(parse_lastline_artifact("EICAR Test String"));
  CHECK_FALSE(parse_lastline_artifact(""));
}

TEST_CASE("parse_score: 0..100 only") {
  CHECK(parse_score("0") == 0U);
  CHECK(parse_score(" 100 ") == 100U);
  CHECK_FALSE(parse_score("101"));
  CHECK_FALSE(parse_score("-1"));
  CHECK_FALSE(parse_score("9x"));
  CHECK_FALSE(parse_score(""));
}

TEST_CASE("detail helpers: trim, decimal, lists") {
  using namespace icapkit::client::detail;
  CHECK(trim(" \t a b \r\n") == "a b");
  CHECK(parse_decimal("18446744073709551615") == 18446744073709551615ULL);
  CHECK_FALSE(parse_decimal("18446744073709551616"));
  CHECK_FALSE(parse_decimal("+1"));
  CHECK(split_list(" RESPMOD, REQMOD ,,") == std::vector<std::string_view>{"RESPMOD", "REQMOD"});
  CHECK(istarts_with("LastLine", "lastl"));
  CHECK_FALSE(istarts_with("La", "lastl"));
}
