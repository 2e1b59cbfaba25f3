// What a test may use of the project's own test services, and what a missing one means.
//
// A test that needs something scripts/install-deps.sh installs (openssl, python3-sklearn)
// or a service a .ci/start-*.sh script starts skips with the reason when it is missing,
// unless SWEEP_REQUIRE_SERVICES=1 (set by .ci/run): then every such skip is a failure.
//
// The Slurm and SSH tests submit jobs and log in, so they use only the project's own
// loopback services, never whatever `sinfo` or port 2222 happens to reach:
// - Slurm: the cluster of .ci/start-slurm.sh, recognised by ClusterName=sweepci with every
//   node at NodeAddr 127.0.0.1; SWEEP_TEST_SLURM=1 accepts another cluster on purpose (a
//   developer's own test cluster), SWEEP_TEST_SLURM=0 turns the Slurm tests off. Either
//   way the cluster must have the partitions `debug` and `lowpri` and a node with the CPUs
//   and memory the tests' node jobs ask for, checked up front so that no test waits out
//   its timeout for a job that can never start.
// - SSH: the sshd of .ci/start-sshd.sh, recognised by its pid file and config under
//   /etc/sweep-ci/ssh and by answering on 127.0.0.1:2222.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sweep::testutil {

inline bool ServicesRequired() {
  const char* v = std::getenv("SWEEP_REQUIRE_SERVICES");
  return v != nullptr && std::string(v) == "1";
}

// Runs `command` through /bin/sh; its stdout, and whether it exited 0.
inline bool ShellOutput(const std::string& command, std::string* out) {
  out->clear();
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return false;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out->append(buffer, n);
  return ::pclose(pipe) == 0;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// What the Slurm tests' node jobs need on one node: two Standard_DS1_v2 jobs at once
// (1 CPU and 3.5 GiB each, compute/slurm_provider.cc).
inline constexpr int kSlurmTestCpus = 2;
inline constexpr long kSlurmTestMemoryMb = 2 * 3584;

// Why the Slurm tests cannot run here; "" when they can.
inline std::string SlurmUnavailableReason() {
  const char* opt = std::getenv("SWEEP_TEST_SLURM");
  const std::string choice = opt == nullptr ? "" : opt;
  if (choice == "0") return "SWEEP_TEST_SLURM=0 turns the Slurm tests off";
  const std::string start = "start the project's cluster with `sudo bash .ci/start-slurm.sh`";
  std::string config;
  if (!ShellOutput("scontrol show config", &config)) {
    return "Slurm does not answer (`scontrol show config` failed); " + start;
  }
  std::string cluster;
  for (const std::string& line : Lines(config)) {
    if (line.rfind("ClusterName ", 0) == 0) cluster = line.substr(line.find('=') + 1);
  }
  cluster.erase(0, cluster.find_first_not_of(' '));
  std::string nodes;
  if (!ShellOutput("sinfo --noheader --Node --format='%N|%o|%c|%m|%R'", &nodes)) {
    return "`sinfo` failed; " + start;
  }
  std::set<std::string> partitions;
  bool all_loopback = true, big_enough = false;
  for (const std::string& line : Lines(nodes)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string field; std::getline(fields, field, '|');) f.push_back(field);
    if (f.size() != 5) continue;
    all_loopback = all_loopback && f[1] == "127.0.0.1";
    partitions.insert(f[4]);
    if (f[4] == "debug" && std::atoi(f[2].c_str()) >= kSlurmTestCpus &&
        std::atol(f[3].c_str()) >= kSlurmTestMemoryMb) {
      big_enough = true;
    }
  }
  if (choice != "1" && (cluster != "sweepci" || !all_loopback || partitions.empty())) {
    return "the Slurm cluster `sinfo` reaches (ClusterName=" + cluster +
           ") is not the project's loopback cluster (ClusterName=sweepci, nodes at "
           "127.0.0.1), and the tests would submit jobs to it; " +
           start + ", or set SWEEP_TEST_SLURM=1 to use this cluster on purpose";
  }
  if (!partitions.count("debug") || !partitions.count("lowpri")) {
    return "the Slurm cluster lacks the partitions `debug` and `lowpri` the tests use; " + start;
  }
  if (!big_enough) {
    return "no node of partition `debug` has the " + std::to_string(kSlurmTestCpus) + " CPUs and " +
           std::to_string(kSlurmTestMemoryMb) +
           " MiB (RealMemory in slurm.conf) that the tests' node jobs ask for, so they "
           "would never start; " +
           start + " (it sets RealMemory)";
  }
  return "";
}

// The same answer for every test of a process (the cluster does not change meanwhile).
inline const std::string& SlurmUnavailable() {
  static const std::string reason = SlurmUnavailableReason();
  return reason;
}

inline const std::string kCiSshDir = "/etc/sweep-ci/ssh";
inline constexpr int kCiSshPort = 2222;

inline bool LoopbackPortAnswers(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// Why the SSH tests cannot run here; "" when they can.
inline std::string SshUnavailableReason() {
  namespace fs = std::filesystem;
  const std::string start = "start it with `sudo bash .ci/start-sshd.sh`";
  for (const char* file : {"sshd_config", "sshd.pid", "sweepkey_ed25519", "sweeppass.password"}) {
    if (!fs::exists(kCiSshDir + "/" + file)) {
      return "the project's sshd is not set up (" + kCiSshDir + "/" + file + " is missing); " +
             start;
    }
  }
  pid_t pid = 0;
  std::ifstream(kCiSshDir + "/sshd.pid") >> pid;
  std::ifstream cmdline_file("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(cmdline_file)),
                      std::istreambuf_iterator<char>());
  if (pid <= 0 || ::kill(pid, 0) != 0 ||
      cmdline.find(kCiSshDir + "/sshd_config") == std::string::npos) {
    return "the project's sshd (pid file " + kCiSshDir + "/sshd.pid) is not running; " + start;
  }
  if (!LoopbackPortAnswers(kCiSshPort)) {
    return "nothing answers on 127.0.0.1:" + std::to_string(kCiSshPort) + "; " + start;
  }
  return "";
}

// Whether a program is on PATH.
inline bool ProgramInstalled(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

inline bool OpensslInstalled() { return ProgramInstalled("openssl"); }

inline bool SklearnInstalled() {
  return std::system("/usr/bin/python3 -c 'import sklearn' >/dev/null 2>&1") == 0;
}

}  // namespace sweep::testutil

// Skips the current test with `reason`, or fails it under SWEEP_REQUIRE_SERVICES=1. For
// a dependency or service the project installs or starts itself; returns from the
// enclosing function (use it in a test body or SetUp).
#define SWEEP_SKIP_UNLESS_REQUIRED(reason)                                      \
  do {                                                                          \
    if (::sweep::testutil::ServicesRequired()) {                                \
      FAIL() << (reason) << " (SWEEP_REQUIRE_SERVICES=1 makes this a failure)"; \
    }                                                                           \
    GTEST_SKIP() << (reason);                                                   \
  } while (0)

#define SWEEP_REQUIRE_SLURM()                                                   \
  do {                                                                          \
    const std::string& sweep_slurm_why = ::sweep::testutil::SlurmUnavailable(); \
    if (!sweep_slurm_why.empty()) SWEEP_SKIP_UNLESS_REQUIRED(sweep_slurm_why);  \
  } while (0)

#define SWEEP_REQUIRE_SSHD()                                                     \
  do {                                                                           \
    const std::string sweep_ssh_why = ::sweep::testutil::SshUnavailableReason(); \
    if (!sweep_ssh_why.empty()) SWEEP_SKIP_UNLESS_REQUIRED(sweep_ssh_why);       \
  } while (0)

#define SWEEP_REQUIRE_OPENSSL()                                \
  do {                                                         \
    if (!::sweep::testutil::OpensslInstalled()) {              \
      SWEEP_SKIP_UNLESS_REQUIRED(                              \
          "openssl is not installed (scripts/install-deps.sh " \
          "installs it); cannot make a test certificate");     \
    }                                                          \
  } while (0)

#define SWEEP_REQUIRE_SKLEARN()                                    \
  do {                                                             \
    if (!::sweep::testutil::SklearnInstalled()) {                  \
      SWEEP_SKIP_UNLESS_REQUIRED(                                  \
          "python3-sklearn is not installed for /usr/bin/python3 " \
          "(scripts/install-deps.sh installs it)");                \
    }                                                              \
  } while (0)

// A program outside Sweep that an e2e test drives (chromium, tmux), from a Debian package
// scripts/install-deps.sh installs.
#define SWEEP_REQUIRE_TOOL(name, package)                                                         \
  do {                                                                                            \
    if (!::sweep::testutil::ProgramInstalled(name)) {                                             \
      SWEEP_SKIP_UNLESS_REQUIRED(std::string(name) + " is not installed (Debian package " package \
                                                     ", installed by scripts/install-deps.sh)");  \
    }                                                                                             \
  } while (0)
