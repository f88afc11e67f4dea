# medsafe_add_plugin(NAME
#   SOURCES <component sources>...      # built once as an OBJECT library <NAME>_objects for tests
#   ENTRY <file with MEDSAFE_PLUGIN>    # only in the loadable MODULE
#   MANIFESTS <plugin.toml>...          # copied beside the module as <component>.toml
#   [LIBRARIES <extra link targets>...])
#
# Produces the MODULE medsafe_<NAME> (libmedsafe_<NAME>.so) in the build's plugin folder
# (lib/medsafe/plugins, the same relative place as in an install) and installs both.
function(medsafe_add_plugin name)
  cmake_parse_arguments(ARG "" "ENTRY" "SOURCES;MANIFESTS;LIBRARIES" ${ARGN})
  if(NOT ARG_ENTRY OR NOT ARG_MANIFESTS)
    message(FATAL_ERROR "medsafe_add_plugin(${name}): ENTRY and MANIFESTS are required")
  endif()
  set(objects ${name}_objects)
  add_library(${objects} OBJECT ${ARG_SOURCES})
  target_link_libraries(${objects} PUBLIC medsafe::core ${ARG_LIBRARIES} PRIVATE medsafe_warnings)
  target_include_directories(${objects} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/src)

  set(module medsafe_${name})
  add_library(${module} MODULE ${ARG_ENTRY})
  target_link_libraries(${module} PRIVATE ${objects} medsafe_warnings)
  # Every symbol must resolve at link time: a missing one is a build error, not a dlopen error.
  target_link_options(${module} PRIVATE -Wl,--no-undefined)
  target_compile_definitions(${module} PRIVATE BOOST_DLL_USE_STD_FS)
  set_target_properties(${module} PROPERTIES
    LIBRARY_OUTPUT_DIRECTORY ${MEDSAFE_PLUGIN_BUILD_DIR}
    BUILD_RPATH "${CMAKE_BINARY_DIR}/lib"
    INSTALL_RPATH "$ORIGIN/../..")
  install(TARGETS ${module} LIBRARY DESTINATION ${MEDSAFE_PLUGIN_SUBDIR})

  foreach(manifest IN LISTS ARG_MANIFESTS)
    get_filename_component(manifest_abs ${manifest} ABSOLUTE)
    file(READ ${manifest_abs} manifest_text)
    string(REGEX MATCH "(^|\n)name *= *\"([^\"]+)\"" _ "${manifest_text}")
    set(component ${CMAKE_MATCH_2})
    if(NOT component)
      message(FATAL_ERROR "${manifest_abs}: no 'name = \"...\"' line")
    endif()
    configure_file(${manifest_abs} ${MEDSAFE_PLUGIN_BUILD_DIR}/${component}.toml COPYONLY)
    install(FILES ${manifest_abs} DESTINATION ${MEDSAFE_PLUGIN_SUBDIR} RENAME ${component}.toml)
  endforeach()
endfunction()
