# control/ unit tests (no EAL, no network beyond loopback and unix sockets).
foreach(t key_store policy registry allocator allocation_socket dataplane_link config server
    refusal_log metrics health admin_server admin_commands
    config_check counters_render)
  dprelay_add_test(NAME control_${t}_test LABEL unit
    SOURCES control_${t}_test.cc
    LIBS dprelay_control GTest::gtest_main)
endforeach()
# The bash completion file is the one the admin command table generates, and it completes.
add_test(NAME dprelayctl_completion_test
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/dprelayctl_completion_test.sh
    $<TARGET_FILE:dprelayctl> ${CMAKE_SOURCE_DIR}/conf/dprelayctl.bash-completion)
set_tests_properties(dprelayctl_completion_test PROPERTIES LABELS unit)
