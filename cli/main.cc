#include "cli/commands.h"
#include "core/process_settings.h"

int main(int argc, char** argv) {
  sweep::core::ApplyProcessSettings();
  return sweep::cli::Main(argc, argv);
}
