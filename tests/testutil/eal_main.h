// main() for EAL test binaries: EAL without hugepages, PCI or shared files, then gtest.
#pragma once

namespace dprelay::testing {

// lcores: EAL's -l argument ("0", "0-1").
int RunEalTests(int argc, char** argv, const char* lcores);

}  // namespace dprelay::testing
