# AddressSanitizer + UndefinedBehaviorSanitizer for every target when ICAPKIT_SANITIZE is on.
if(ICAPKIT_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
