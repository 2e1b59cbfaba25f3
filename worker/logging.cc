#include "worker/logging.h"

#include <mutex>

#include "spdlog/sinks/stdout_color_sinks.h"

namespace sweep::worker {

std::shared_ptr<spdlog::logger> Log() {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  static std::shared_ptr<spdlog::logger> logger;
  if (logger) return logger;
  logger = spdlog::get("sweep.worker");
  if (!logger) {
    logger = spdlog::stderr_color_mt("sweep.worker");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e worker %^%l%$: %v");
  }
  return logger;
}

}  // namespace sweep::worker
