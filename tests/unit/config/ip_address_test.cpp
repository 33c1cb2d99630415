#include "icapkit/config/ip_address.hpp"

#include <doctest/doctest.h>

using namespace icapkit::config;

TEST_CASE("ip_address: parse and print") {
  CHECK(ip_address::parse("10.1.2.3")->family == ip_family::v4);
  CHECK(ip_address::parse("2001:db8::1")->family == ip_family::v6);
  CHECK(ip_address::parse("2001:db8::1")->to_string() == "2001:db8::1");
  CHECK_FALSE(ip_address::parse(""));
  CHECK_FALSE(ip_address::parse("10.1.2"));
  CHECK_FALSE(ip_address::parse("[::1]"));
  CHECK_FALSE(ip_address::parse("host.example"));
}

TEST_CASE("ip_address: IPv4 prefixes, including non-byte masks") {
  const ip_prefix p{*ip_address::parse("10.20.0.0"), 14};
  CHECK(p.contains(*ip_address::parse("10.20.0.1")));
  CHECK(p.contains(*ip_address::parse("10.23.255.255")));
  CHECK_FALSE(p.contains(*ip_address::parse("10.24.0.0")));
  CHECK_FALSE(p.contains(*ip_address::parse("::1")));
  CHECK(p.contains(*ip_address::parse("::ffff:10.21.0.9"))); // dual-stack listener form
  const ip_prefix all{*ip_address::parse("0.0.0.0"), 0};
  CHECK(all.contains(*ip_address::parse("192.0.2.1")));
  const ip_prefix host{*ip_address::parse("192.0.2.1"), 32};
  CHECK(host.contains(*ip_address::parse("192.0.2.1")));
  CHECK_FALSE(host.contains(*ip_address::parse("192.0.2.2")));
}

TEST_CASE("ip_address: IPv6 prefixes") {
  const ip_prefix p{*ip_address::parse("2001:db8:abcd::"), 48};
  CHECK(p.contains(*ip_address::parse("2001:db8:abcd:12::1")));
  CHECK_FALSE(p.contains(*ip_address::parse("2001:db8:abce::1")));
  CHECK_FALSE(p.contains(*ip_address::parse("10.0.0.1")));
  const ip_prefix odd{*ip_address::parse("2001:db8::"), 33};
  CHECK(odd.contains(*ip_address::parse("2001:db8:7fff::1")));
  CHECK_FALSE(odd.contains(*ip_address::parse("2001:db8:8000::1")));
}

TEST_CASE("ip_address: ranges are inclusive") {
  const ip_range r{*ip_address::parse("10.0.0.10"), *ip_address::parse("10.0.0.20")};
  CHECK(r.contains(*ip_address::parse("10.0.0.10")));
  CHECK(r.contains(*ip_address::parse("10.0.0.20")));
  CHECK_FALSE(r.contains(*ip_address::parse("10.0.0.21")));
  CHECK_FALSE(r.contains(*ip_address::parse("10.0.0.9")));
}
