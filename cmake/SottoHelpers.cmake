# Compiler flags and the helpers every component's CMakeLists.txt uses.

# Warnings for our own targets only (third-party headers are included as SYSTEM).
set(SOTTO_WARNING_FLAGS -Wall -Wextra -Wpedantic)
if(SOTTO_WERROR)
  list(APPEND SOTTO_WARNING_FLAGS -Werror)
endif()

# -march=native for builds that run where they are built (the demo's release build): Eigen's
# GEMMs get AVX2/FMA. Off by default so test and CI binaries stay portable.
if(SOTTO_NATIVE)
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-march=native>)
endif()

if(SOTTO_SANITIZE)
  add_compile_options(-fsanitize=${SOTTO_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${SOTTO_SANITIZE})
endif()

# Applies sotto's warnings to a target's C++ sources (not to CUDA sources: nvcc has its own).
function(sotto_target_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${SOTTO_WARNING_FLAGS}>)
endfunction()

# sotto_add_library(NAME sources... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# A component library: public headers in ./include, private ones in ./src.
function(sotto_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                     PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  sotto_target_warnings(${name})
endfunction()

# sotto_add_test(NAME SOURCES ... [DEPS ...] [LABELS ...])
# One GoogleTest binary registered with ctest (tests discovered per TEST, so ctest's summary
# names every case). Like LevelDB's leveldb_test().
function(sotto_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main
                                        GTest::gmock)
  sotto_target_warnings(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS "${ARG_LABELS}")
endfunction()
