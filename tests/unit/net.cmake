# net/ unit tests: sockets on loopback and in private temp directories, no DPDK.
foreach(t unix_socket stream_server peer_cred)
  dprelay_add_test(NAME net_${t}_test LABEL unit
    SOURCES net_${t}_test.cc
    LIBS dprelay_net GTest::gtest_main)
endforeach()
