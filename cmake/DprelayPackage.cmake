# The .deb (scripts/package.sh: `cpack -G DEB` in the build directory, no rebuild): the
# install rules of DprelayInstall.cmake under /usr, stripped, runtime Depends from
# dpkg-shlibdeps, the maintainer scripts and Debian's copyright and changelog files from
# packaging/.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dprelay)
set(CPACK_PACKAGE_VENDOR "the dprelay authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "DPDK peer relay for Tailscale's peer relay protocol")
# The extended description (CPack puts the summary above it and indents it).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"dprelay relays WireGuard in Geneve between peers that cannot reach each
other directly, speaking the Tailscale peer relay protocol. A control
process (dprelay-control) holds keys and policy and hands out sessions; a
DPDK dataplane (dprelay-dataplane) forwards at line rate. dprelayctl
administers a running relay; dprelay-peer is a client, with a bridge for
plain WireGuard.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
# Whoever builds the package for distribution sets their own (-DDPRELAY_MAINTAINER=...); the
# default is a placeholder (RFC 2606's example.org), as is packaging/changelog's.
set(DPRELAY_MAINTAINER "dprelay maintainers <dprelay@example.org>" CACHE STRING
    "Maintainer field of the .deb")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${DPRELAY_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# adduser: postinst creates the dprelay user and groups.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(DPRELAY_DEBIAN ${CMAKE_BINARY_DIR}/debian-control)
file(MAKE_DIRECTORY ${DPRELAY_DEBIAN})
foreach(f conffiles postinst postrm)
  configure_file(${CMAKE_SOURCE_DIR}/packaging/${f} ${DPRELAY_DEBIAN}/${f} COPYONLY)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${DPRELAY_DEBIAN}/conffiles ${DPRELAY_DEBIAN}/postinst ${DPRELAY_DEBIAN}/postrm)

# Debian's documentation files: copyright as is, the changelog gzipped -9n.
install(FILES packaging/copyright DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/dprelay)
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/debian-doc/changelog.Debian.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/debian-doc
  COMMAND sh -c "${GZIP} -9nc '${CMAKE_SOURCE_DIR}/packaging/changelog' > '${CMAKE_BINARY_DIR}/debian-doc/changelog.Debian.gz'"
  DEPENDS ${CMAKE_SOURCE_DIR}/packaging/changelog
  VERBATIM)
add_custom_target(dprelay_debian_changelog ALL
  DEPENDS ${CMAKE_BINARY_DIR}/debian-doc/changelog.Debian.gz)
install(FILES ${CMAKE_BINARY_DIR}/debian-doc/changelog.Debian.gz
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/dprelay)

include(CPack)
