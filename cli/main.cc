#include "cli/commands.h"

int main(int argc, char** argv) { return sweep::cli::Main(argc, argv); }
