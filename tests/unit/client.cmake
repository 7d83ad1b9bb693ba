# client/ unit tests: no EAL, no DPDK. The loopback test plays the relay and the control
# process itself on 127.0.0.1 kernel sockets.
dprelay_add_test(NAME client_payload_test LABEL unit
  SOURCES client_payload_test.cc
  LIBS dprelay_client GTest::gtest_main)
dprelay_add_test(NAME client_key_file_test LABEL unit
  SOURCES client_key_file_test.cc
  LIBS dprelay_client GTest::gtest_main)
dprelay_add_test(NAME client_loopback_test LABEL unit TIMEOUT 180
  SOURCES client_loopback_test.cc client_fake_relay.cc
  LIBS dprelay_client GTest::gtest_main)
dprelay_add_test(NAME client_path_monitor_test LABEL unit
  SOURCES client_path_monitor_test.cc
  LIBS dprelay_client GTest::gtest_main)
# Two `dprelay-peer wg` bridges on threads against the fake relay, with test sockets
# playing the two WireGuards.
dprelay_add_test(NAME client_wg_bridge_test LABEL unit TIMEOUT 120
  SOURCES client_wg_bridge_test.cc client_fake_relay.cc
  LIBS dprelay_client GTest::gtest_main)
