// The worker's logger: spdlog, to stderr (stdout may carry a CLI's machine output).
#pragma once

#include <memory>

#include "spdlog/spdlog.h"

namespace sweep::worker {

// The "sweep.worker" logger, created on first use with a stderr sink unless the
// program registered one under that name before. Thread-safe.
std::shared_ptr<spdlog::logger> Log();

}  // namespace sweep::worker
