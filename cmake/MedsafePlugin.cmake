# medsafe_add_plugin(NAME
#   SOURCES <component sources>...      # built once as an OBJECT library <NAME>_objects for tests
#   ENTRY <file with MEDSAFE_PLUGIN>    # only in the loadable MODULE
#   MANIFESTS <plugin.toml>...          # copied beside the module as <component>.toml
#   [LIBRARIES <extra link targets>...])
#
# Produces the MODULE medsafe_<NAME> (libmedsafe_<NAME>.so) with its manifests in a plugin folder
# of the build, and installs both to lib/medsafe/plugins. The same file serves medsafe's own tree
# and, installed with the SDK, every project that does find_package(medsafe):
#   - in medsafe's tree the folder is the build's lib/medsafe/plugins, the same relative place as
#     in an install, so the built `medsafe` finds its plugins without being told;
#   - elsewhere it is MEDSAFE_PLUGIN_BUILD_DIR when set, else ${CMAKE_BINARY_DIR}/plugins: point
#     medsafe at it with --plugin-path or MEDSAFE_PLUGIN_PATH.
function(medsafe_add_plugin name)
  cmake_parse_arguments(ARG "" "ENTRY" "SOURCES;MANIFESTS;LIBRARIES" ${ARGN})
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
endfunction()
