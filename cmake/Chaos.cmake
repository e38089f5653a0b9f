# Small helpers shared by every area's CMakeLists.txt.

# chaos_add_test(NAME name SOURCES a.cc b.cc LIBS lib1 lib2 [LABELS l1 l2] [TIMEOUT s] [RUN_SERIAL])
# One GoogleTest executable; each TEST becomes its own CTest test. RUN_SERIAL: ctest -j runs none of
# its tests beside any other test (for real-time scenarios whose windows are judged).
function(chaos_add_test)
  cmake_parse_arguments(T "RUN_SERIAL" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  # tests/testkit: headers every test may use (sanitizer_scale.h).
  target_include_directories(${T_NAME} PRIVATE ${CMAKE_SOURCE_DIR}/tests/testkit)
  target_compile_definitions(${T_NAME} PRIVATE
    CHAOS_BIN_DIR="${CMAKE_BINARY_DIR}/bin"
    CHAOS_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  # A list inside PROPERTIES must be escaped, or only its first element becomes the label.
  string(REPLACE ";" "\\;" labels "${T_LABELS}")
  set(serial FALSE)
  if(T_RUN_SERIAL)
    set(serial TRUE)
  endif()
  gtest_discover_tests(${T_NAME}
    DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${labels}" RUN_SERIAL ${serial})
endfunction()

# add_chaos_scenarios(DIR dir [HARNESS path] [BIN_DIR dir] [REPORT_DIR dir] [LABELS ...])
# Registers every scenario file (*.json except schema.json) under `dir` as one CTest test that runs
# `chaos-harness run` on it, so a C++ project can run our scenarios, or its own, with ctest.
function(add_chaos_scenarios)
  cmake_parse_arguments(S "" "DIR;HARNESS;BIN_DIR;REPORT_DIR;PREFIX" "LABELS" ${ARGN})
  if(NOT S_HARNESS)
    set(S_HARNESS $<TARGET_FILE:chaos-harness>)
  endif()
  if(NOT S_BIN_DIR)
    set(S_BIN_DIR ${CMAKE_BINARY_DIR}/bin)
  endif()
  if(NOT S_REPORT_DIR)
    set(S_REPORT_DIR ${CMAKE_BINARY_DIR}/scenario-reports)
  endif()
  if(NOT S_PREFIX)
    set(S_PREFIX "scenario.")
  endif()
  file(GLOB_RECURSE files CONFIGURE_DEPENDS ${S_DIR}/*.json)
  foreach(f IN LISTS files)
    get_filename_component(name ${f} NAME_WE)
    if(name STREQUAL "schema")
      continue()
    endif()
    add_test(NAME ${S_PREFIX}${name}
      COMMAND ${S_HARNESS} run --quiet --bin-dir ${S_BIN_DIR}
              --report-dir ${S_REPORT_DIR}/${name} ${f})
    set_tests_properties(${S_PREFIX}${name} PROPERTIES TIMEOUT 120 LABELS "scenario;${S_LABELS}")
  endforeach()
endfunction()
