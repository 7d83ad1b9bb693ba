# control/ unit tests (no EAL, no network beyond loopback and unix sockets).
foreach(t key_store policy registry allocator allocation_socket dataplane_link config server
    refusal_log metrics health admin_server counters_render)
  dprelay_add_test(NAME control_${t}_test LABEL unit
    SOURCES control_${t}_test.cc
    LIBS dprelay_control GTest::gtest_main)
endforeach()
