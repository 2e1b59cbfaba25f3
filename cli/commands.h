// The `sweep` command line. Exit codes: 0 ok, 1 runtime failure, 2 usage/invalid spec.
#pragma once

namespace sweep::cli {

int Main(int argc, char** argv);

}  // namespace sweep::cli
