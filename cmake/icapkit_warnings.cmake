# Warnings for the project's own code; third-party headers come in as SYSTEM includes.
function(icapkit_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wsign-conversion -Wnon-virtual-dtor -Wold-style-cast)
  if(ICAPKIT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
