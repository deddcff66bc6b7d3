# What `cmake --install` provides: the command, the headers, the static libraries
# (libvaecl.a, libvaecl_core.a), a shared library (libvaecl.so) that carries all of
# vaecl, a pkg-config file (vaecl.pc) and a CMake package: find_package(vaecl) gives
# the imported target vaecl::vaecl (the shared library).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The shared library is the archives' objects, whole (the empty source keeps CMake
# content: a library needs at least one source of its own).
file(WRITE ${CMAKE_BINARY_DIR}/generated/shared_library.c "/* libvaecl.so */\n")
add_library(vaecl_shared SHARED ${CMAKE_BINARY_DIR}/generated/shared_library.c)
target_link_libraries(vaecl_shared PRIVATE -Wl,--whole-archive vaecl vaecl_core -Wl,--no-whole-archive)
target_include_directories(vaecl_shared PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
                                              $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set_target_properties(vaecl_shared PROPERTIES OUTPUT_NAME vaecl VERSION ${PROJECT_VERSION}
                                              SOVERSION ${PROJECT_VERSION_MAJOR}
                                              EXPORT_NAME vaecl)

install(TARGETS vaecl_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS vaecl vaecl_core ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS vaecl_shared EXPORT vaeclTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES include/vaecl.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/vaecl DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT vaeclTargets NAMESPACE vaecl:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vaecl)
configure_package_config_file(cmake/vaeclConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/vaeclConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vaecl)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/vaeclConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/vaeclConfig.cmake ${CMAKE_BINARY_DIR}/vaeclConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/vaecl)

configure_file(cmake/vaecl.pc.in ${CMAKE_BINARY_DIR}/vaecl.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/vaecl.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
