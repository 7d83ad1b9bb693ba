# proto/ codec tests. Vectors are read at run time from DPRELAY_VECTORS_DIR.
foreach(t addr key geneve disco disco_box ipc secret_box token_bucket log)
  dprelay_add_test(NAME proto_${t}_test LABEL unit SOURCES proto_${t}_test.cc LIBS dprelay_proto GTest::gtest_main)
endforeach()
# Where a flag was set, for configuration errors that name the flagfile line.
dprelay_add_test(NAME proto_flag_origin_test LABEL unit SOURCES proto_flag_origin_test.cc
  LIBS dprelay_cli GTest::gtest_main)
