#include "icapkit/config/ref.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace icapkit::config;

TEST_CASE("ref: every form Avi writes") {
  CHECK(parse_ref("icap-pool") == object_ref{"", "", "icap-pool"});
  CHECK(parse_ref("/api/pool?name=icap-pool") == object_ref{"pool", "", "icap-pool"});
  CHECK(parse_ref("/api/pool/?name=icap-pool&tenant=admin") == object_ref{"pool", "", "icap-pool"});
  CHECK(parse_ref("/api/pool?tenant=admin&name=ICAP%20Pool") ==
        object_ref{"pool", "", "ICAP Pool"});
  CHECK(parse_ref("https://10.1.1.1/api/pool/pool-1234-abcd#ICAP-POOL") ==
        object_ref{"pool", "pool-1234-abcd", "ICAP-POOL"});
  CHECK(parse_ref("/api/pool/pool-1234-abcd") == object_ref{"pool", "pool-1234-abcd", ""});
  CHECK(parse_ref("/api/poolgroup?name=g") == object_ref{"poolgroup", "", "g"});
}

TEST_CASE("ref: refs that name nothing") {
  CHECK_FALSE(parse_ref(""));
  CHECK_FALSE(parse_ref("/api/pool"));
  CHECK_FALSE(parse_ref("/api/pool?tenant=admin"));
  CHECK_FALSE(parse_ref("https://controller/"));
}

namespace {
struct object {
  std::string name;
  std::string uuid;
};
} // namespace

TEST_CASE("ref: uuid first, then name") {
  const std::vector<object> objects{{"a", "pool-1"}, {"b", "pool-2"}, {"c", ""}};
  const std::span<const object> all(objects);
  CHECK(find_referenced(all, *parse_ref("/api/pool/pool-2")) == 1);
  CHECK(find_referenced(all, *parse_ref("https://x/api/pool/pool-2#a")) == 1);
  CHECK(find_referenced(all, *parse_ref("https://x/api/pool/pool-9#c")) == 2);
  CHECK(find_referenced(all, *parse_ref("/api/pool?name=a")) == 0);
  CHECK_FALSE(find_referenced(all, *parse_ref("/api/pool/pool-9")));
  CHECK(describe_ref(*parse_ref("https://x/api/pool/pool-9#c")) == "name \"c\" or uuid \"pool-9\"");
}
