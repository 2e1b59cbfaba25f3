// Environment preparation with the real process launcher: setup commands really run
// through /bin/sh and count their builds in a file.
#include "worker/environment.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "core/digest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"
#include "tests/unit/worker/test_files.h"
#include "worker/attempt.h"

namespace sweep::worker {
namespace {

namespace fs = std::filesystem;
using ::sweep::worker::testing::ReadFile;
using ::testing::HasSubstr;

class EnvironmentCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<::sweep::testutil::TestDir>("environment");
    root_ = dir_->path();
    counter_ = (root_ / "builds").string();
    launcher_ = NewPosixProcessLauncher();
  }

  // A system-managed environment whose setup appends a line to the counter file, copies
  // its requirements into the environment and installs a `tool` program into bin/.
  core::Environment Env(const std::string& requirements, const std::string& extra = "") {
    core::Environment e;
    e.name = "sk";
    e.version = 1;
    e.kind = "system_managed";
    e.setup_command = "echo built >> " + counter_ +
                      " && cp requirements.txt \"$SWEEP_ENV_DIR\"/ &&" +
                      " printf '#!/bin/sh\\necho tool-ran\\n' > \"$SWEEP_ENV_DIR/bin/tool\" &&" +
                      " chmod +x \"$SWEEP_ENV_DIR/bin/tool\"" + extra;
    e.files = {{"requirements.txt", requirements}};
    e.digest = core::Sha256Hex(e.setup_command + "|" + requirements);
    return e;
  }

  int Builds() {
    std::string text = ReadFile(counter_);
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }

  EnvironmentCache Cache() {
    return EnvironmentCache((root_ / "cache").string(), launcher_.get(), CurrentEnvironment(),
                            /*poll_interval_ms=*/10);
  }

  std::unique_ptr<::sweep::testutil::TestDir> dir_;
  fs::path root_;
  std::string counter_;
  std::unique_ptr<ProcessLauncher> launcher_;
};

TEST_F(EnvironmentCacheTest, BuiltOnceAndReusedForLaterAttempts) {
  EnvironmentCache cache = Cache();
  const core::Environment env = Env("numpy==1.26\n");
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto prepared = cache.Prepare(env, nullptr);
    ASSERT_TRUE(prepared.ok()) << prepared.status();
    const std::string env_dir = prepared->env.at("SWEEP_ENV_DIR");
    EXPECT_EQ(ReadFile(env_dir + "/requirements.txt"), "numpy==1.26\n");
    ASSERT_EQ(prepared->path_prefix.size(), 1u);
    EXPECT_EQ(prepared->path_prefix[0], env_dir + "/bin");
  }
  EXPECT_EQ(Builds(), 1);
  // A second cache object on the same directory (another worker on this machine) reuses it.
  EnvironmentCache other = Cache();
  ASSERT_TRUE(other.Prepare(env, nullptr).ok());
  EXPECT_EQ(Builds(), 1);
}

TEST_F(EnvironmentCacheTest, TheTrialFindsItsProgramsAndVariables) {
  EnvironmentCache cache = Cache();
  auto prepared = cache.Prepare(Env("x\n"), nullptr);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  std::map<std::string, std::string> env = {{"PATH", "/usr/bin:/bin"}, {"HOME", "/root"}};
  ApplyEnvironment(*prepared, env);
  EXPECT_EQ(env["PATH"], prepared->path_prefix[0] + ":/usr/bin:/bin");
  EXPECT_EQ(env["SWEEP_ENV_DIR"], prepared->env.at("SWEEP_ENV_DIR"));
  EXPECT_EQ(env["HOME"], "/root");
  // A bare program name is looked up in the environment's bin/ first.
  std::vector<std::string> argv = ResolveInPrefix(*prepared, {"tool", "--flag"});
  EXPECT_EQ(argv[0], prepared->path_prefix[0] + "/tool");
  EXPECT_EQ(argv[1], "--flag");
  EXPECT_EQ(ResolveInPrefix(*prepared, {"sh", "-c", "true"})[0], "sh");
  EXPECT_EQ(ResolveInPrefix(*prepared, {"/bin/tool"})[0], "/bin/tool");

  LaunchSpec spec;
  spec.argv = argv;
  spec.env = env;
  std::vector<std::string> lines;
  spec.on_stdout_line = [&](const std::string& line) { lines.push_back(line); };
  auto process = launcher_->Launch(spec);
  ASSERT_TRUE(process.ok()) << process.status();
  auto exit = (*process)->Wait(10'000);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_THAT(lines, ::testing::ElementsAre("tool-ran"));
}

TEST_F(EnvironmentCacheTest, ConcurrentAttemptsWaitForOneBuild) {
  // The build takes a moment, so the other attempts arrive while it runs.
  const core::Environment env = Env("slow\n", " && sleep 0.5");
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::vector<std::unique_ptr<EnvironmentCache>> caches;
  for (int i = 0; i < 4; ++i) {
    // Two attempts per cache object and two cache objects (workers) per machine.
    if (i % 2 == 0) {
      caches.push_back(std::make_unique<EnvironmentCache>(
          (root_ / "cache").string(), launcher_.get(), CurrentEnvironment(), 10));
    }
  }
  for (int i = 0; i < 4; ++i) {
    EnvironmentCache* cache = caches[i / 2].get();
    threads.emplace_back([&, cache] {
      if (cache->Prepare(env, nullptr).ok()) ++ok;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(Builds(), 1);
}

TEST_F(EnvironmentCacheTest, AFailedBuildFailsWithTheLogTailAndIsNotRebuilt) {
  EnvironmentCache cache = Cache();
  core::Environment env = Env("broken\n");
  env.setup_command = "echo built >> " + counter_ +
                      "; echo 'Collecting nosuchpkg'; echo 'ERROR: No matching distribution' >&2;"
                      " exit 3";
  env.digest = core::Sha256Hex(env.setup_command);
  auto first = cache.Prepare(env, nullptr);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(first.status().message(),
              HasSubstr("environment 'sk' version 1: setup command failed (exit code 3)"));
  EXPECT_THAT(first.status().message(), HasSubstr("Collecting nosuchpkg"));
  EXPECT_THAT(first.status().message(), HasSubstr("ERROR: No matching distribution"));
  EXPECT_EQ(Builds(), 1);

  // Later attempts (in this worker or another) fail at once with the same words.
  auto second = Cache().Prepare(env, nullptr);
  EXPECT_EQ(second.status(), first.status());
  EXPECT_EQ(Builds(), 1) << "a failed build must not be retried in a loop";

  // A new version (new digest) builds afresh.
  auto fixed = cache.Prepare(Env("fixed\n"), nullptr);
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  EXPECT_EQ(Builds(), 2);
}

TEST_F(EnvironmentCacheTest, AChangedFileIsANewDigestAndIsRebuilt) {
  EnvironmentCache cache = Cache();
  auto v1 = cache.Prepare(Env("numpy==1\n"), nullptr);
  auto v2 = cache.Prepare(Env("numpy==2\n"), nullptr);
  ASSERT_TRUE(v1.ok() && v2.ok());
  EXPECT_EQ(Builds(), 2);
  EXPECT_NE(v1->env.at("SWEEP_ENV_DIR"), v2->env.at("SWEEP_ENV_DIR"));
  EXPECT_EQ(ReadFile(v2->env.at("SWEEP_ENV_DIR") + "/requirements.txt"), "numpy==2\n");
  ASSERT_TRUE(cache.Prepare(Env("numpy==1\n"), nullptr).ok());
  EXPECT_EQ(Builds(), 2) << "the first version is still cached";
}

TEST_F(EnvironmentCacheTest, AnAbandonedBuildIsNotRememberedAsFailed) {
  EnvironmentCache cache = Cache();
  const core::Environment env = Env("x\n", " && sleep 30");
  int calls = 0;
  auto abandoned = cache.Prepare(env, [&] { return ++calls < 5; });
  EXPECT_EQ(abandoned.status().code(), absl::StatusCode::kCancelled) << abandoned.status();
  // The next attempt builds again (and this time is allowed to finish quickly).
  const core::Environment quick = Env("x\n");
  core::Environment same_digest = quick;
  same_digest.digest = env.digest;
  ASSERT_TRUE(cache.Prepare(same_digest, nullptr).ok());
  EXPECT_EQ(Builds(), 2);
}

TEST_F(EnvironmentCacheTest, UserManagedPythonGoesFirstOnPath) {
  EnvironmentCache cache = Cache();
  core::Environment env;
  env.name = "py";
  env.version = 2;
  env.kind = "user_managed";
  env.python = "/bin/sh";  // any executable stands in for an interpreter
  auto prepared = cache.Prepare(env, nullptr);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->env.at("SWEEP_PYTHON"), "/bin/sh");
  ASSERT_EQ(prepared->path_prefix.size(), 1u);
  EXPECT_EQ(fs::read_symlink(prepared->path_prefix[0] + "/python3"), "/bin/sh");
  EXPECT_EQ(ResolveInPrefix(*prepared, {"python3", "x.py"})[0],
            prepared->path_prefix[0] + "/python3");

  env.python = (root_ / "no-such-python").string();
  auto missing = cache.Prepare(env, nullptr);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("environment 'py' version 2: python '" + env.python +
                        "' is not executable on this node"));

  core::Environment own;
  own.name = "own";
  own.kind = "user_managed";
  auto nothing = cache.Prepare(own, nullptr);
  ASSERT_TRUE(nothing.ok());
  EXPECT_TRUE(nothing->path_prefix.empty());
  EXPECT_TRUE(nothing->env.empty());
}

}  // namespace
}  // namespace sweep::worker
