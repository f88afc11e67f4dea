# medsafe_embed_resources(<target>
#   HEADER <include path>      # e.g. report/report_resources.hpp, generated in the build tree
#   FILES <resource>...)       # relative to the calling CMakeLists.txt
#
# Text that is not C++ (a page's JavaScript and CSS, a manifest fragment) lives in its own file,
# where editors, linters and diffs see it as what it is, and is compiled into <target> as bytes.
# The generated header holds, in namespace medsafe::resources, one
#   inline constexpr std::string_view k<Name>   (report.js -> kReportJs)
# per file with exactly the file's bytes: written as \xNN escapes, so no raw-string delimiter,
# CRLF, missing or extra final newline, NUL or non-ASCII byte can change what is embedded.
# The header is regenerated when a resource or the generator changes (DEPENDS), and lives in
# ${CMAKE_CURRENT_BINARY_DIR}/generated/embedded, a PRIVATE include folder of <target>.
set(MEDSAFE_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_resources.cmake)

function(medsafe_embed_resources target)
  cmake_parse_arguments(ARG "" "HEADER" "FILES" ${ARGN})
  if(NOT ARG_HEADER OR NOT ARG_FILES)
    message(FATAL_ERROR "medsafe_embed_resources(${target}): HEADER and FILES are required")
  endif()
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/generated/embedded)
  set(header ${out_dir}/${ARG_HEADER})
  set(inputs "")
  foreach(file IN LISTS ARG_FILES)
    get_filename_component(file_abs ${file} ABSOLUTE)
    list(APPEND inputs ${file_abs})
  endforeach()
  # A list cannot pass through one -D argument of a custom command: '|' separates the files.
  string(REPLACE ";" "|" inputs_arg "${inputs}")
  add_custom_command(
    OUTPUT ${header}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${header} -DFILES=${inputs_arg} -P ${MEDSAFE_EMBED_SCRIPT}
    DEPENDS ${inputs} ${MEDSAFE_EMBED_SCRIPT}
    COMMENT "Embedding ${ARG_HEADER}"
    VERBATIM)
  target_sources(${target} PRIVATE ${header})
  target_include_directories(${target} PRIVATE ${out_dir})
endfunction()
