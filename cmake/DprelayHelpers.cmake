# Shared build helpers: warnings-as-errors for our code, and test registration by tier.
set(DPRELAY_WARNINGS -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor -Wno-missing-field-initializers)

function(dprelay_library name)
  add_library(${name} STATIC ${ARGN})
  target_compile_options(${name} PRIVATE ${DPRELAY_WARNINGS})
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR})
endfunction()

function(dprelay_executable name)
  add_executable(${name} ${ARGN})
  target_compile_options(${name} PRIVATE ${DPRELAY_WARNINGS})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR})
endfunction()

# dprelay_add_test(NAME name LABEL unit|eal|integration SOURCES ... LIBS ...)
function(dprelay_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBS;ARGS" ${ARGN})
  dprelay_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock)
  target_compile_definitions(${T_NAME} PRIVATE
      DPRELAY_VECTORS_DIR="${CMAKE_SOURCE_DIR}/tests/vectors")
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} ${T_ARGS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
endfunction()
