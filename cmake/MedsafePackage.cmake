# The SDK package that `cmake --install` writes to lib/cmake/medsafe: medsafeConfig.cmake (from
# medsafeConfig.cmake.in), its version file, the exported targets (medsafe::core, medsafe::http,
# medsafe::demos, the `medsafe` command as medsafe::medsafe) and MedsafePlugin.cmake, so that a
# project outside this tree can find_package(medsafe) and build plugins the same way as the
# plugins in plugins/.
include(CMakePackageConfigHelpers)

set(MEDSAFE_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/medsafe)
set(MEDSAFE_SDK_BOOST_VERSION ${Boost_VERSION_MAJOR}.${Boost_VERSION_MINOR})
# The compiler family and major version are part of a plugin's build id (medsafe/version.hpp).
string(REGEX MATCH "^[0-9]+" MEDSAFE_SDK_COMPILER_MAJOR ${CMAKE_CXX_COMPILER_VERSION})
set(MEDSAFE_SDK_COMPILER "${CMAKE_CXX_COMPILER_ID} ${MEDSAFE_SDK_COMPILER_MAJOR}")
set(MEDSAFE_SDK_COMPILER_REGEX "${CMAKE_CXX_COMPILER_ID}-${MEDSAFE_SDK_COMPILER_MAJOR}\\.")

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/medsafeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/medsafeConfig.cmake
  INSTALL_DESTINATION ${MEDSAFE_CMAKE_INSTALL_DIR}
  PATH_VARS MEDSAFE_PLUGIN_SUBDIR)
# The build id holds major.minor: a plugin needs the same minor version of the SDK.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/medsafeConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)

install(EXPORT medsafeTargets
  NAMESPACE medsafe::
  DESTINATION ${MEDSAFE_CMAKE_INSTALL_DIR})
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/medsafeConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/medsafeConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/MedsafePlugin.cmake
  DESTINATION ${MEDSAFE_CMAKE_INSTALL_DIR})
