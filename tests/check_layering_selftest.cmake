# Proves the layering check (check_layering.cmake) still fails: it runs the check on copies of the
# tree, first untouched (must pass), then each with one bad include or link added (must fail and name
# the file, the include and the rule). Run: cmake -DSOURCE_DIR=<tree> -DWORK_DIR=<scratch dir>
# -P check_layering_selftest.cmake (CTest runs it as layering/check_fails_on_bad_include).
cmake_minimum_required(VERSION 3.25)
if(NOT SOURCE_DIR OR NOT WORK_DIR)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=<tree> -DWORK_DIR=<dir> -P check_layering_selftest.cmake")
endif()
set(check ${CMAKE_CURRENT_LIST_DIR}/check_layering.cmake)
set(copy ${WORK_DIR}/layering_selftest)

# A fresh copy of the parts of the tree the check reads.
function(fresh_copy)
  file(REMOVE_RECURSE ${copy})
  file(MAKE_DIRECTORY ${copy}/lib)
  file(COPY ${SOURCE_DIR}/lib/icapkit ${SOURCE_DIR}/lib/CMakeLists.txt DESTINATION ${copy}/lib)
  file(COPY ${SOURCE_DIR}/apps DESTINATION ${copy})
endfunction()

function(run_check out_rc out_text)
  execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${copy} -P ${check}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE text ERROR_VARIABLE text)
  set(${out_rc} ${rc} PARENT_SCOPE)
  set(${out_text} "${text}" PARENT_SCOPE)
endfunction()

# expect_failure(name file line expected...): appends `line` to `file` in a fresh copy (a path
# ending in lib/CMakeLists.txt gets it as is), then the check must fail and print every expected
# string.
function(expect_failure name file line)
  fresh_copy()
  if(NOT EXISTS ${copy}/${file})
    get_filename_component(dir ${copy}/${file} DIRECTORY)
    file(MAKE_DIRECTORY ${dir})
  endif()
  file(APPEND ${copy}/${file} "\n${line}\n")
  run_check(rc text)
  if(rc EQUAL 0)
    message(FATAL_ERROR "${name}: the layering check passed with '${line}' in ${file}:\n${text}")
  endif()
  foreach(expected ${ARGN})
    string(FIND "${text}" "${expected}" found)
    if(found EQUAL -1)
      message(FATAL_ERROR "${name}: the check's message lacks '${expected}':\n${text}")
    endif()
  endforeach()
  message(STATUS "${name}: fails as it must")
endfunction()

fresh_copy()
run_check(rc text)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the layering check fails on the untouched tree:\n${text}")
endif()

expect_failure(codec_includes_asio lib/icapkit/codec/errc.hpp "#include <asio.hpp>"
  "lib/icapkit/codec/errc.hpp:" "#include <asio.hpp>" "codec must not include third-party")
expect_failure(codec_includes_log lib/icapkit/codec/errc.hpp "#include \"icapkit/log/record.hpp\""
  "lib/icapkit/codec/errc.hpp:" "codec -> log is not allowed: codec includes nothing")
expect_failure(sibling_include lib/icapkit/proxy/stats.hpp "#include \"icapkit/replay/driver.hpp\""
  "lib/icapkit/proxy/stats.hpp:" "#include \"icapkit/replay/driver.hpp\""
  "proxy -> replay is not allowed: proxy may include only codec, log, config, net, client")
expect_failure(climbing_include lib/icapkit/net/errc.hpp "#include \"icapkit/client/client.hpp\""
  "lib/icapkit/net/errc.hpp:" "net -> client is not allowed")
# A tolerated edge is tolerated for its file and header alone, not for its layer.
expect_failure(tolerated_edge_elsewhere lib/icapkit/replay/expectations.cpp
  "#include \"icapkit/proxy/upstream.hpp\""
  "lib/icapkit/replay/expectations.cpp:" "replay -> proxy is not allowed")
expect_failure(capture_includes_driver lib/icapkit/replay/capture/capture.hpp
  "#include \"icapkit/replay/driver.hpp\"" "replay/capture -> replay is not allowed")
expect_failure(capture_includes_asio lib/icapkit/replay/capture/capture.hpp "#include <asio/ip/tcp.hpp>"
  "replay/capture must not include third-party")
expect_failure(relative_include lib/icapkit/codec/errc.hpp "#include \"../net/errc.hpp\""
  "no relative include leaves its directory")
expect_failure(unknown_layer lib/icapkit/newlayer/thing.hpp "#pragma once"
  "lib/icapkit/newlayer/thing.hpp: not in a known layer")
expect_failure(climbing_link lib/CMakeLists.txt "icapkit_layer(extra_codec_check)
icapkit_layer(config DEPS icapkit::codec icapkit::client)"
  "extra_codec_check is not in the table" "icapkit_config links icapkit::client")

file(REMOVE_RECURSE ${copy})
message(STATUS "the layering check fails on every bad include and link tried")
