# The layering check (DESIGN.md section 1, README "Layers"): every #include in lib/icapkit/ and
# apps/ may point only down the table below, and the per-layer CMake targets in lib/CMakeLists.txt
# may link only what the table allows. Run: cmake -DSOURCE_DIR=<tree> -P check_layering.cmake
# (CTest runs it as layering/table; tests/check_layering_selftest.cmake proves it fails).
#
# Dependencies point one way:
#   codec <- log, config <- net <- client, server <- mock, proxy, replay, load <- apps
# log and config are siblings, client and server are siblings, and mock, proxy, replay and load
# are siblings: siblings never include one another. replay/capture (the capture readers) parse
# untrusted files: they see only codec, never Asio or the replay driver.
cmake_minimum_required(VERSION 3.25)
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=<source tree> -P check_layering.cmake")
endif()

# The full table: the layers each layer may include (its own is always allowed). A directory
# under lib/icapkit/ that is not here fails the check: add its row here and in the README.
set(layers codec log config net client server mock proxy replay replay/capture load apps)
set(allowed_codec)
set(allowed_log codec)
set(allowed_config codec)
set(allowed_net codec log config)
set(allowed_client codec log config net)
set(allowed_server codec log config net)
set(allowed_mock codec log config net client server)
set(allowed_proxy codec log config net client)
set(allowed_replay codec log config net client replay/capture)
set(allowed_replay_capture codec)
set(allowed_load codec log config net client)
set(allowed_apps codec log config net client server mock proxy replay replay/capture load)

# Third-party headers a layer must not include (matched at the start of the include path).
set(no_external_codec "asio|nlohmann/|openssl/|pcap")
set(no_external_log "asio|openssl/|pcap")
set(no_external_config "asio|openssl/|pcap")
set(no_external_replay_capture "asio|openssl/")
set(no_external_default "pcap") # libpcap belongs to the capture readers alone

# Tolerated until issue 15 removes them: "<file>|<included header>", one exact include each, so
# the edge stays visible here and any other climbing include (even to the same layer) fails.
set(tolerated
  # replay -> proxy: HTTP framing and the head reader move beside the codec (issue 15 point 1).
  "lib/icapkit/replay/recorded_upstream.cpp|icapkit/proxy/http_framing.hpp"
  "lib/icapkit/replay/recorded_upstream.cpp|icapkit/proxy/http_reader.hpp"
  # replay -> proxy: the driver runs the proxy in-process and sends through its upstream client.
  # Siblings must not include one another (DESIGN.md section 1); no point of issue 15 names this
  # edge yet, so whoever reworks the driver either removes it or argues the table's change.
  "lib/icapkit/replay/driver.cpp|icapkit/proxy/proxy.hpp"
  "lib/icapkit/replay/driver.cpp|icapkit/proxy/upstream.hpp")
# Link edges tolerated for the same reasons (target|dependency).
set(tolerated_links "replay|proxy")

function(layer_key dir out)
  string(REPLACE "/" "_" key "${dir}")
  set(${out} ${key} PARENT_SCOPE)
endfunction()

function(rule_text layer out)
  layer_key(${layer} key)
  set(a ${allowed_${key}})
  if(NOT a)
    set(${out} "${layer} includes nothing from other layers" PARENT_SCOPE)
  else()
    list(JOIN a ", " a)
    set(${out} "${layer} may include only ${a}" PARENT_SCOPE)
  endif()
endfunction()

set(violations)
set(tolerated_seen)
file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE ${SOURCE_DIR}
     ${SOURCE_DIR}/lib/icapkit/* ${SOURCE_DIR}/apps/*)
list(SORT files)
foreach(rel ${files})
  if(NOT rel MATCHES "\\.(h|hpp|c|cc|cpp|ipp|inc)$")
    continue()
  endif()
  if(rel MATCHES "^apps/")
    set(layer apps)
  elseif(rel MATCHES "^lib/icapkit/replay/capture/")
    set(layer replay/capture)
  elseif(rel MATCHES "^lib/icapkit/([^/]+)/")
    set(layer ${CMAKE_MATCH_1})
  else()
    set(layer "")
  endif()
  if(NOT layer OR NOT layer IN_LIST layers)
    list(APPEND violations "${rel}: not in a known layer (add its row to the table in \
tests/check_layering.cmake and to the README's layers)")
    continue()
  endif()
  layer_key(${layer} key)
  if(DEFINED no_external_${key})
    set(no_external "${no_external_${key}}")
  else()
    set(no_external "${no_external_default}")
  endif()
  rule_text(${layer} rule)
  file(READ ${SOURCE_DIR}/${rel} content)
  file(STRINGS ${SOURCE_DIR}/${rel} lines REGEX "^[ \t]*#[ \t]*include")
  foreach(line ${lines})
    if(NOT line MATCHES "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"]")
      continue()
    endif()
    set(inc "${CMAKE_MATCH_1}")
    # Where the include is, for the message.
    string(FIND "${content}" "${line}" pos)
    string(SUBSTRING "${content}" 0 ${pos} before)
    string(REGEX MATCHALL "\n" newlines "${before}")
    list(LENGTH newlines n)
    math(EXPR n "${n} + 1")
    set(where "${rel}:${n}: ${line}")

    if(inc MATCHES "(^|/)\\.\\.(/|$)")
      list(APPEND violations "${where}\n    breaks: no relative include leaves its directory, \
include \"icapkit/<layer>/...\"")
      continue()
    endif()
    if(inc MATCHES "^icapkit/")
      if(inc MATCHES "^icapkit/replay/capture/")
        set(target replay/capture)
      elseif(inc MATCHES "^icapkit/([^/]+)/")
        set(target ${CMAKE_MATCH_1})
      else()
        set(target "")
      endif()
      if(NOT target OR NOT target IN_LIST layers)
        list(APPEND violations "${where}\n    breaks: \"${inc}\" is in no layer of the table")
        continue()
      endif()
      layer_key(${layer} key)
      if(target STREQUAL layer OR target IN_LIST allowed_${key})
        continue()
      endif()
      if("${rel}|${inc}" IN_LIST tolerated)
        list(APPEND tolerated_seen "${rel}|${inc}")
        continue()
      endif()
      list(APPEND violations "${where}\n    breaks: ${layer} -> ${target} is not allowed: ${rule} (DESIGN.md section 1)")
    elseif(no_external AND inc MATCHES "^(${no_external})")
      list(APPEND violations "${where}\n    breaks: ${layer} must not include third-party \
headers matching '${no_external}' (codec is sans-I/O, codec, log, config and the capture readers \
compile without Asio, libpcap belongs to replay/capture alone)")
    endif()
  endforeach()
endforeach()

# The per-layer CMake targets link only what the table allows (capture is replay/capture).
file(READ ${SOURCE_DIR}/lib/CMakeLists.txt cmake_lists)
string(REGEX MATCHALL "icapkit_layer\\([a-z_]+[^)]*\\)" calls "${cmake_lists}")
string(REGEX MATCH "target_link_libraries\\(icapkit_capture[^)]*\\)" capture_call "${cmake_lists}")
if(capture_call)
  string(REPLACE "target_link_libraries(icapkit_capture" "icapkit_layer(capture" capture_call
         "${capture_call}")
  list(APPEND calls "${capture_call}")
endif()
foreach(call ${calls})
  string(REGEX MATCH "^icapkit_layer\\(([a-z_]+)" _ "${call}")
  set(name ${CMAKE_MATCH_1})
  set(layer ${name})
  if(name STREQUAL "capture")
    set(layer replay/capture)
  endif()
  if(NOT layer IN_LIST layers)
    list(APPEND violations "lib/CMakeLists.txt: ${call}\n    breaks: ${layer} is not in the table")
    continue()
  endif()
  layer_key(${layer} key)
  rule_text(${layer} rule)
  string(REGEX MATCHALL "icapkit::[a-z_]+" deps "${call}")
  foreach(dep ${deps})
    string(REPLACE "icapkit::" "" dep "${dep}")
    set(dep_layer ${dep})
    if(dep STREQUAL "capture")
      set(dep_layer replay/capture)
    endif()
    if(dep_layer IN_LIST allowed_${key} OR "${name}|${dep}" IN_LIST tolerated_links)
      continue()
    endif()
    list(APPEND violations "lib/CMakeLists.txt: icapkit_${name} links icapkit::${dep}\n    \
breaks: ${layer} -> ${dep_layer} is not allowed: ${rule}")
  endforeach()
  if(call MATCHES "Asio::asio" AND layer MATCHES "^(codec|log|config|replay/capture)$")
    list(APPEND violations "lib/CMakeLists.txt: icapkit_${name} links Asio\n    breaks: \
${layer} compiles without Asio")
  endif()
endforeach()

foreach(t ${tolerated})
  if(NOT t IN_LIST tolerated_seen)
    message(STATUS "layering: tolerated include '${t}' no longer exists: remove it from the list")
  endif()
endforeach()

if(violations)
  list(LENGTH violations count)
  list(JOIN violations "\n" text)
  message(FATAL_ERROR "layering: ${count} include(s) or link(s) break the table in \
tests/check_layering.cmake:\n${text}")
endif()
list(LENGTH files nfiles)
message(STATUS "layering ok (${nfiles} files)")
