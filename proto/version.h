// dprelay's version, from `git describe` at build time (cmake/version.cmake), and the DPDK
// version it was built against (pkg-config's libdpdk).
#pragma once

#include <string>

namespace dprelay {

extern const char kVersion[];
extern const char kDpdkVersion[];

// "PROGRAM VERSION (DPDK X)", the line every program's --version prints.
std::string VersionLine(const char* program);

// True, after printing VersionLine(program) to stdout, when --version is among the arguments
// (anywhere, so that it needs no EAL, port or config): the caller exits 0.
bool PrintVersionIfAsked(int argc, char** argv, const char* program);

}  // namespace dprelay
