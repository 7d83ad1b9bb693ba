dprelay_add_test(NAME dataplane_handshake_test LABEL unit
  SOURCES dataplane_handshake_test.cc
  LIBS dprelay_dataplane GTest::gtest_main)
dprelay_add_test(NAME dataplane_neighbours_test LABEL unit
  SOURCES dataplane_neighbours_test.cc
  LIBS dprelay_dataplane GTest::gtest_main)
dprelay_add_test(NAME dataplane_reply_limiter_test LABEL unit
  SOURCES dataplane_reply_limiter_test.cc
  LIBS dprelay_dataplane GTest::gtest_main)
dprelay_add_test(NAME dataplane_session_state_test LABEL unit
  SOURCES dataplane_session_state_test.cc
  LIBS dprelay_dataplane GTest::gtest_main)
dprelay_add_test(NAME dataplane_fast_match_test LABEL unit
  SOURCES dataplane_fast_match_test.cc fast_match_scalar_tu.cc
  LIBS dprelay_test_packets dprelay_dataplane GTest::gtest_main)
dprelay_add_test(NAME dataplane_martians_test LABEL unit
  SOURCES dataplane_martians_test.cc
  LIBS dprelay_dataplane GTest::gtest_main)
dprelay_add_test(NAME dataplane_frame_handlers_test LABEL unit
  SOURCES dataplane_frame_handlers_test.cc
  LIBS dprelay_test_packets dprelay_dataplane GTest::gtest_main)
# The dataplane's control socket: secure creation and the peer check. No EAL.
dprelay_add_test(NAME dataplane_ipc_server_test LABEL unit
  SOURCES dataplane_ipc_server_test.cc
  LIBS dprelay_dataplane GTest::gtest_main)
# drivers/: port spec, EAL argument composition and --check's host checks (fake sysfs). No EAL.
dprelay_add_test(NAME drivers_eal_args_test LABEL unit
  SOURCES drivers_eal_args_test.cc
  LIBS dprelay_drivers GTest::gtest_main)
# The counter catalogue and how the dataplane sums its lcores' counters into it. No EAL.
dprelay_add_test(NAME dataplane_counters_test LABEL unit
  SOURCES dataplane_counters_test.cc
  LIBS dprelay_dataplane GTest::gtest_main)
