dprelay_add_test(NAME dataplane_handshake_test LABEL unit
  SOURCES dataplane_handshake_test.cc
  LIBS dprelay_dataplane GTest::gtest_main)
