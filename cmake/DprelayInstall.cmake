# `cmake --install` with Debian's (FHS) paths: the CLI and the client in /usr/bin, the two
# daemons in /usr/sbin, the units in /usr/lib/systemd/system, the default config in
# /etc/dprelay, examples in /usr/share/doc/dprelay/examples, man pages (help2man, from each
# program's --help, gzipped). /var/lib/dprelay and /run/dprelay* come from the units
# (StateDirectory, RuntimeDirectory). Configure with -DCMAKE_INSTALL_PREFIX=/usr (CPack does).
include(GNUInstallDirs)

install(TARGETS dprelayctl dprelay-peer RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS dprelay-control dprelay-dataplane RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})

# Units go where systemd looks for a package's units whatever the prefix (/usr/lib/systemd).
set(DPRELAY_UNITDIR "lib/systemd/system" CACHE STRING "systemd unit directory under the prefix")
install(FILES conf/dprelay-control.service conf/dprelay-dataplane.service
        DESTINATION ${DPRELAY_UNITDIR})

# /etc/dprelay: the conffiles, in /etc whatever the prefix (FHS). The policy is read by user
# dprelay (the package's postinst gives it that group through dpkg-statoverride).
set(DPRELAY_CONFDIR /etc/dprelay CACHE PATH "configuration directory")
install(FILES conf/etc/control.flags conf/etc/dataplane.flags
              conf/etc/policy
        DESTINATION ${DPRELAY_CONFDIR}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

set(DPRELAY_DOCDIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/dprelay)
install(FILES
          conf/allow.keys.example conf/control.flags.example conf/control.nlb.flags.example
          conf/dataplane.aws.flags.example conf/dataplane.flags.example conf/policy.example
          conf/grafana-dashboard.json conf/prometheus-alerts.yml
        DESTINATION ${DPRELAY_DOCDIR}/examples)
install(DIRECTORY conf/dprelay-dataplane.service.d DESTINATION ${DPRELAY_DOCDIR}/examples)
install(FILES docs/OPERATIONS.md docs/REFERENCE.md docs/MONITORING.md docs/COUNTERS.md
              docs/CAPTURE.md docs/SECURITY.md
        DESTINATION ${DPRELAY_DOCDIR})
# dprelayctl's completion (generated from the admin command table; dprelayctl_completion_test
# keeps the file in step), where bash-completion loads it on demand.
install(FILES conf/dprelayctl.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions RENAME dprelayctl)

# Man pages from the programs' own --help and --version (help2man), so they cannot drift
# from the code. Built with the programs; gzipped -9n as Debian wants.
find_program(HELP2MAN help2man REQUIRED)
find_program(GZIP gzip REQUIRED)
function(dprelay_man_page target section description help_option)
  set(page ${CMAKE_BINARY_DIR}/man/${target}.${section})
  add_custom_command(
    OUTPUT ${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=${section}
            --name=${description} --help-option=${help_option}
            --include=${CMAKE_SOURCE_DIR}/packaging/man-common.h2m
            --output=${page} $<TARGET_FILE:${target}>
    COMMAND ${GZIP} -9nf ${page}
    DEPENDS ${target} ${CMAKE_SOURCE_DIR}/packaging/man-common.h2m
    COMMENT "man page ${target}(${section})"
    VERBATIM)
  add_custom_target(${target}_man ALL DEPENDS ${page}.gz)
  install(FILES ${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endfunction()
# Not from the sanitizer build (scripts/sanitize.sh): its programs would add leak reports to
# the text, and nothing is packaged from it.
if(NOT DPRELAY_SANITIZE)
  dprelay_man_page(dprelay-control 8 "dprelay peer relay control process" --help)
  dprelay_man_page(dprelay-dataplane 8 "dprelay peer relay DPDK dataplane" --help)
  dprelay_man_page(dprelayctl 8 "administer a running dprelay relay" --help)
  dprelay_man_page(dprelay-peer 1 "dprelay relay client and WireGuard bridge" --help)
endif()
