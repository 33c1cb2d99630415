# Warnings for the project's own code; third-party headers come in as SYSTEM includes.
function(icapkit_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wsign-conversion -Wnon-virtual-dtor -Wold-style-cast)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 at -O2/-O3 reports std::string concatenation ("x" + str) as overlapping memcpy
    # (GCC bug 105329, fixed in 13): a false positive in libstdc++ itself.
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(ICAPKIT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
