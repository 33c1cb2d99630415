#include "icapkit/mock/multipart_names.hpp"

#include <doctest/doctest.h>

using namespace icapkit::mock;

TEST_CASE("multipart file names are found with the body split at every position") {
  const std::string body = "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
                           "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; "
                           "filename=\"report.PDF\"\r\nContent-Type: application/pdf\r\n\r\n"
                           "%PDF bytes\r\nContent-Disposition: filename=\"fake.exe\"\r\n"
                           "--XyZ\r\nContent-Disposition: form-data; name=\"g\"; "
                           "filename*=UTF-8''na%C3%AFve.txt\r\n\r\nx\r\n--XyZ--\r\n";
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    multipart_names m("XyZ");
    m.feed(std::string_view(body).substr(0, cut));
    m.feed(std::string_view(body).substr(cut));
    CHECK(m.names() == std::vector<std::string>{"report.PDF", "na\xC3\xAFve.txt"});
  }
}

TEST_CASE("header helpers: boundary, Content-Disposition, URL names, extensions") {
  CHECK(multipart_boundary("multipart/form-data; boundary=\"ab c\"") == "ab c");
  CHECK(multipart_boundary("Multipart/Form-Data; charset=x; boundary=q1") == "q1");
  CHECK(multipart_boundary("text/plain; boundary=q1").empty());
  CHECK(disposition_filename("attachment; filename=\"a b.zip\"") == "a b.zip");
  CHECK(disposition_filename("attachment; filename=plain.txt").empty() == false);
  CHECK(disposition_filename("inline").empty());
  CHECK(url_file_name("http://h.test/dir/My%20File.exe?x=1") == "My File.exe");
  CHECK(url_file_name("/upload/") == "");
  CHECK(file_extension("archive.tar.GZ") == "gz");
  CHECK(file_extension("noext").empty());
  CHECK(file_extension("dir.d/file").empty());
}
