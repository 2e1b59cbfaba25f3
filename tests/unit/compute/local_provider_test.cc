// LocalNodeProvider with a stand-in "worker" script (no controller involved).
#include "compute/local_provider.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sweep::compute {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class LocalProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sweep-provider-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A fake `sweep` binary: prints its arguments, then runs `body`.
  std::string Script(const std::string& body) {
    std::string path = dir_ + "/fake-sweep";
    std::ofstream(path) << "#!/bin/sh\necho \"args: $*\"\n" << body << "\n";
    ::chmod(path.c_str(), 0755);
    return path;
  }

  LocalNodeProviderOptions Options(const std::string& binary) {
    LocalNodeProviderOptions o;
    o.binary = binary;
    o.server_address = "127.0.0.1:5555";
    o.token_file = dir_ + "/token";
    o.log_dir = dir_ + "/logs";
    o.work_dir = dir_ + "/work";
    o.stop_grace_ms = 300;
    return o;
  }

  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Polls (bounded) until `pred` holds; the machine is shared, so no tight deadlines.
  template <typename Pred>
  static bool Eventually(Pred pred) {
    for (int i = 0; i < 1000; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
  }

  core::ComputeTarget Target() {
    core::ComputeTarget t;
    t.name = "cpu-cluster";
    return t;
  }

  std::string dir_;
};

TEST_F(LocalProviderTest, StartsWorkersWithArgumentsAndLogs) {
  LocalNodeProvider p(Options(Script("exec sleep 60")));
  auto n1 = p.StartNode(Target());
  auto n2 = p.StartNode(Target());
  ASSERT_TRUE(n1.ok()) << n1.status();
  ASSERT_TRUE(n2.ok());
  EXPECT_EQ(*n1, "node-1");
  EXPECT_EQ(*n2, "node-2");
  EXPECT_EQ(p.LiveNodes("cpu-cluster"), 2);
  EXPECT_EQ(p.LiveNodes("other"), 0);
  std::string log = dir_ + "/logs/node-1.log";
  ASSERT_TRUE(Eventually([&] { return Read(log).find("args:") != std::string::npos; }));
  EXPECT_THAT(Read(log), HasSubstr("args: worker --server 127.0.0.1:5555 --compute cpu-cluster "
                                   "--token-file " +
                                   dir_ + "/token --work-dir " + dir_ + "/work/node-1"));
  p.StopAll();
  EXPECT_EQ(p.LiveNodes("cpu-cluster"), 0);
  EXPECT_TRUE(p.LivePids().empty());
}

TEST_F(LocalProviderTest, ExitedChildrenStopCounting) {
  LocalNodeProvider p(Options(Script("exit 0")));
  ASSERT_TRUE(p.StartNode(Target()).ok());
  EXPECT_TRUE(Eventually([&] { return p.LiveNodes("cpu-cluster") == 0; }));
}

TEST_F(LocalProviderTest, StopAllKillsWorkersThatIgnoreSigterm) {
  LocalNodeProvider p(Options(Script("trap '' TERM\nwhile true; do sleep 0.05; done")));
  ASSERT_TRUE(p.StartNode(Target()).ok());
  auto pids = p.LivePids();
  ASSERT_EQ(pids.size(), 1u);
  // Let the shell install its trap before we signal it.
  ASSERT_TRUE(Eventually(
      [&] { return Read(dir_ + "/logs/node-1.log").find("args:") != std::string::npos; }));
  p.StopAll();  // SIGTERM ignored -> SIGKILL after 300 ms
  EXPECT_EQ(p.LiveNodes("cpu-cluster"), 0);
  EXPECT_NE(::kill(pids[0], 0), 0);  // reaped, gone
  // It can start nodes again afterwards.
  ASSERT_TRUE(p.StartNode(Target()).ok());
  EXPECT_EQ(p.LiveNodes("cpu-cluster"), 1);
}

TEST_F(LocalProviderTest, MissingBinaryIsAnError) {
  LocalNodeProvider p(Options(dir_ + "/no-such-binary"));
  auto n = p.StartNode(Target());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(n.status().message(), HasSubstr("cannot start worker " + dir_ + "/no-such-binary"));
  EXPECT_EQ(p.LiveNodes("cpu-cluster"), 0);
}

TEST_F(LocalProviderTest, AFailedSpawnIsAnErrorWithTheReason) {
  core::FaultEnv faults(core::Env::Default());
  faults.FailSpawns("", EAGAIN);  // e.g. the process limit is reached
  LocalNodeProviderOptions options = Options(Script("exec sleep 60"));
  options.env = &faults;
  LocalNodeProvider p(options);
  auto n = p.StartNode(Target());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(n.status().message(),
            "cannot start worker " + options.binary + ": Resource temporarily unavailable");
  EXPECT_EQ(p.LiveNodes("cpu-cluster"), 0);
  faults.Clear();
  ASSERT_TRUE(p.StartNode(Target()).ok());
  EXPECT_EQ(p.LiveNodes("cpu-cluster"), 1);
}

TEST_F(LocalProviderTest, UnconfiguredProviderRefusesToStart) {
  LocalNodeProvider p(LocalNodeProviderOptions{});
  auto n = p.StartNode(Target());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(n.status().message(),
            "local node provider: binary, server address and token file must be set");
}

}  // namespace
}  // namespace sweep::compute
