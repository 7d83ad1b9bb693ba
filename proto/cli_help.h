// --help for every program: the usage line and the program's own flags (gflags' built-ins,
// which gflags' --help lists at length, are left out but --flagfile and --version), printed
// to stdout with exit status 0, before EAL or any configuration is looked at. help2man builds
// the man pages from this output.
#pragma once

namespace dprelay {

// True, after printing the help, when --help, -help or -h is among the arguments: the caller
// exits 0. Call after gflags::SetUsageMessage.
bool PrintHelpIfAsked(int argc, char** argv);

}  // namespace dprelay
