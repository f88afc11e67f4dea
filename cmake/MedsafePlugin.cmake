# medsafe_add_plugin(NAME
#   SOURCES <component sources>...      # built once as an OBJECT library <NAME>_objects for tests
#   ENTRY <file with MEDSAFE_PLUGIN>    # only in the loadable MODULE
#   MANIFESTS <plugin.toml>...          # copied beside the module as <component>.toml
#   [LIBRARIES <extra link targets>...]
#   [TESTS <test sources>...            # the unit tests: the executable <NAME>_tests
#    TEST_LIBRARIES <link targets>...   #   beyond <NAME>_objects and GTest::gtest_main
#    TEST_INCLUDES <folders>...
#    TEST_DEFINITIONS <NAME=value>...   #   beyond MEDSAFE_PLUGIN_BUILD_DIR (the module's folder)
#    TEST_DEPENDS <targets>...])        #   built first, beyond the module medsafe_<NAME>
#
# Produces the MODULE medsafe_<NAME> (libmedsafe_<NAME>.so) with its manifests in a plugin folder
# of the build, and installs both to lib/medsafe/plugins. The same file serves medsafe's own tree
# and, installed with the SDK, every project that does find_package(medsafe):
#   - in medsafe's tree the folder is the build's lib/medsafe/plugins, the same relative place as
#     in an install, so the built `medsafe` finds its plugins without being told;
#   - elsewhere it is MEDSAFE_PLUGIN_BUILD_DIR when set, else ${CMAKE_BINARY_DIR}/plugins: point
#     medsafe at it with --plugin-path or MEDSAFE_PLUGIN_PATH.
# TESTS is optional. The tests are built when MEDSAFE_BUILD_TESTS is on (medsafe's tree) or,
# where that is not defined (a project using the installed SDK), when BUILD_TESTING is on; they
# need GTest::gtest_main (find_package(GTest) first) and are registered with
# gtest_discover_tests. In medsafe's tree they also link medsafe_test_support (tests/support).
# Plugin tests link the SDK only, as the module does (issue 15): an engine library
# (MEDSAFE_ENGINE_LIBRARIES, or an alias of one) named in TEST_LIBRARIES, or reached through what
# the tests link (checked once every target exists, at the end of the top-level CMakeLists.txt),
# is a configure error.

# medsafe's internal engine libraries (core/CMakeLists.txt). Not exported by the SDK package, so
# out of tree no target has these names and the check finds nothing.
set(MEDSAFE_ENGINE_LIBRARIES medsafe_kernel medsafe_report medsafe_engine)

# Sets `out` to the real target `library` names (an alias resolved), or to `library` itself when
# it is no target (yet).
function(_medsafe_real_target library out)
  set(real ${library})
  if(TARGET ${library})
    get_target_property(aliased ${library} ALIASED_TARGET)
    if(aliased)
      set(real ${aliased})
    endif()
  endif()
  set(${out} ${real} PARENT_SCOPE)
endfunction()

# Fails when the link closure of the test executable `tests` (of plugin `name`, declared in
# `list_file`) holds an engine library: what it links, and what those libraries pass on
# (INTERFACE_LINK_LIBRARIES, which carries a static library's private libraries as LINK_ONLY).
function(_medsafe_check_test_links name tests list_file)
  get_target_property(pending ${tests} LINK_LIBRARIES)
  set(pending_paths ${pending})  # how each pending library was reached, "a -> b -> c"
  set(seen "")
  while(TRUE)
    # Not while(pending): a list whose last entry ends in -NOTFOUND is false.
    list(LENGTH pending count)
    if(count EQUAL 0)
      break()
    endif()
    list(POP_FRONT pending library)
    list(POP_FRONT pending_paths path)
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" library "${library}")
    if(library MATCHES "^\\$<" OR NOT TARGET ${library})
      continue()  # another generator expression, or a plain library file (dl, pthread)
    endif()
    _medsafe_real_target(${library} real)
    if(real IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${real})
    if(real IN_LIST MEDSAFE_ENGINE_LIBRARIES)
      message(FATAL_ERROR "${list_file}: medsafe_add_plugin(${name}): the test executable "
                          "${tests} links the engine library ${real} (${path}): plugin tests "
                          "link the SDK only, as the plugin does; tests that need the engine "
                          "belong in tests/")
    endif()
    get_target_property(passed_on ${real} INTERFACE_LINK_LIBRARIES)
    if(passed_on)
      foreach(next IN LISTS passed_on)
        list(APPEND pending ${next})
        string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" next_name "${next}")
        list(APPEND pending_paths "${path} -> ${next_name}")
      endforeach()
    endif()
  endwhile()
endfunction()

function(medsafe_add_plugin name)
  cmake_parse_arguments(ARG "" "ENTRY"
    "SOURCES;MANIFESTS;LIBRARIES;TESTS;TEST_LIBRARIES;TEST_INCLUDES;TEST_DEFINITIONS;TEST_DEPENDS"
    ${ARGN})
  if(NOT ARG_ENTRY OR NOT ARG_MANIFESTS)
    message(FATAL_ERROR "medsafe_add_plugin(${name}): ENTRY and MANIFESTS are required")
  endif()
  if(DEFINED MEDSAFE_PLUGIN_BUILD_DIR)
    set(build_dir ${MEDSAFE_PLUGIN_BUILD_DIR})
  else()
    set(build_dir ${CMAKE_BINARY_DIR}/plugins)
  endif()
  if(DEFINED MEDSAFE_PLUGIN_SUBDIR)
    set(install_dir ${MEDSAFE_PLUGIN_SUBDIR})
  else()
    set(install_dir lib/medsafe/plugins)
  endif()
  # The project's own warning set, where it has one (medsafe's tree does).
  set(warnings "")
  if(TARGET medsafe_warnings)
    set(warnings medsafe_warnings)
  endif()

  set(objects ${name}_objects)
  add_library(${objects} OBJECT ${ARG_SOURCES})
  target_link_libraries(${objects} PUBLIC medsafe::core ${ARG_LIBRARIES} PRIVATE ${warnings})
  target_include_directories(${objects} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/src)
  # The SDK headers are C++20; the objects end up in a shared object; only the entry leaves it.
  target_compile_features(${objects} PUBLIC cxx_std_20)
  set_target_properties(${objects} PROPERTIES
    POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)

  set(module medsafe_${name})
  add_library(${module} MODULE ${ARG_ENTRY})
  target_link_libraries(${module} PRIVATE ${objects} ${warnings})
  # Every symbol must resolve at link time: a missing one is a build error, not a dlopen error.
  target_link_options(${module} PRIVATE -Wl,--no-undefined)
  target_compile_definitions(${module} PRIVATE BOOST_DLL_USE_STD_FS)
  set_target_properties(${module} PROPERTIES
    LIBRARY_OUTPUT_DIRECTORY ${build_dir}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    INSTALL_RPATH "$ORIGIN/../..")
  if(TARGET medsafe_core)
    # medsafe's own tree: libmedsafe_core.so is in the build's lib/. (Against an installed SDK,
    # CMake puts the imported library's folder into the build RPATH by itself.)
    set_target_properties(${module} PROPERTIES BUILD_RPATH "${CMAKE_BINARY_DIR}/lib")
  endif()
  install(TARGETS ${module} LIBRARY DESTINATION ${install_dir})

  foreach(manifest IN LISTS ARG_MANIFESTS)
    get_filename_component(manifest_abs ${manifest} ABSOLUTE)
    file(READ ${manifest_abs} manifest_text)
    string(REGEX MATCH "(^|\n)name *= *\"([^\"]+)\"" _ "${manifest_text}")
    set(component ${CMAKE_MATCH_2})
    if(NOT component)
      message(FATAL_ERROR "${manifest_abs}: no 'name = \"...\"' line")
    endif()
    configure_file(${manifest_abs} ${build_dir}/${component}.toml COPYONLY)
    install(FILES ${manifest_abs} DESTINATION ${install_dir} RENAME ${component}.toml)
  endforeach()

  if(DEFINED MEDSAFE_BUILD_TESTS)
    set(build_tests ${MEDSAFE_BUILD_TESTS})
  else()
    set(build_tests ${BUILD_TESTING})
  endif()
  if(NOT ARG_TESTS OR NOT build_tests)
    return()
  endif()
  if(NOT TARGET GTest::gtest_main)
    message(FATAL_ERROR "medsafe_add_plugin(${name}): TESTS need GTest::gtest_main: "
                        "call find_package(GTest REQUIRED) before")
  endif()
  if(NOT COMMAND gtest_discover_tests)
    include(GoogleTest)
  endif()
  set(tests ${name}_tests)
  # medsafe's tree: its test helpers (tests/support, defined after the plugins).
  set(support "")
  if(TARGET medsafe_core)
    set(support medsafe_test_support)
  endif()
  # Named directly: refused at once, at the caller's line.
  foreach(library IN LISTS ARG_TEST_LIBRARIES)
    _medsafe_real_target(${library} real)
    if(real IN_LIST MEDSAFE_ENGINE_LIBRARIES)
      message(FATAL_ERROR "medsafe_add_plugin(${name}): TEST_LIBRARIES names the engine library "
                          "${library}: plugin tests link the SDK only, as the plugin does; tests "
                          "that need the engine belong in tests/")
    endif()
  endforeach()
  add_executable(${tests} ${ARG_TESTS})
  target_link_libraries(${tests} PRIVATE ${objects} ${ARG_TEST_LIBRARIES} ${support}
                        GTest::gtest_main ${warnings})
  target_include_directories(${tests} PRIVATE ${ARG_TEST_INCLUDES})
  # Module tests load the built module from its folder, as a run does: build it first.
  target_compile_definitions(${tests} PRIVATE MEDSAFE_PLUGIN_BUILD_DIR="${build_dir}"
                             ${ARG_TEST_DEFINITIONS})
  add_dependencies(${tests} ${module} ${ARG_TEST_DEPENDS})
  gtest_discover_tests(${tests} DISCOVERY_TIMEOUT 60)
  # Reached indirectly (a TEST_LIBRARIES entry, or medsafe_test_support, defined after the
  # plugins, linking the engine): checked when every target exists. A deferred call reads its
  # arguments' variables when it runs, so they are written in now, as bracket arguments.
  cmake_language(EVAL CODE
    "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL _medsafe_check_test_links
                    [[${name}]] [[${tests}]] [[${CMAKE_CURRENT_LIST_FILE}]])")
endfunction()
