#include "workspace/workspace.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sweep::workspace {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class WorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sweep-ws-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/ws";
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string root_;
  std::string dir_;
};

TEST_F(WorkspaceTest, CreatesLayoutTokenAndDefaultTarget) {
  auto ws = Workspace::OpenOrCreate(dir_);
  ASSERT_TRUE(ws.ok()) << ws.status();
  EXPECT_TRUE(fs::exists(dir_ + "/sweep.db"));
  EXPECT_TRUE(fs::is_directory(dir_ + "/snapshots"));
  EXPECT_TRUE(fs::is_directory(dir_ + "/artifacts"));
  EXPECT_TRUE(fs::is_directory(dir_ + "/logs"));
  EXPECT_EQ((*ws)->dir(), dir_);
  EXPECT_EQ((*ws)->token_path(), dir_ + "/token");
  const std::string& token = (*ws)->token();
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto target = (*ws)->store()->GetCompute("cpu-cluster");
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->type, "amlcompute");
  EXPECT_EQ(target->provider, "local");
  EXPECT_EQ(target->min_nodes, 0);
  EXPECT_EQ(target->max_nodes,
            std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency())));
}

TEST_F(WorkspaceTest, ReopeningKeepsTokenAndDoesNotRecreateDeletedDefault) {
  std::string token;
  {
    auto ws = Workspace::OpenOrCreate(dir_);
    ASSERT_TRUE(ws.ok());
    token = (*ws)->token();
    store::WriteBatch b;
    b.deleted_computes.push_back("cpu-cluster");
    ASSERT_TRUE((*ws)->store()->Commit(b).ok());
  }
  auto ws = Workspace::OpenOrCreate(dir_);
  ASSERT_TRUE(ws.ok());
  EXPECT_EQ((*ws)->token(), token);
  EXPECT_TRUE(absl::IsNotFound((*ws)->store()->GetCompute("cpu-cluster").status()));
}

TEST_F(WorkspaceTest, RefusesATokenReadableByOthers) {
  ASSERT_TRUE(Workspace::OpenOrCreate(dir_).ok());
  ASSERT_EQ(::chmod((dir_ + "/token").c_str(), 0644), 0);
  auto ws = Workspace::OpenOrCreate(dir_);
  EXPECT_EQ(ws.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ws.status().message(), "token file " + dir_ +
                                       "/token is accessible by group/others (mode 0644); run "
                                       "`chmod 600 " +
                                       dir_ + "/token`");
}

TEST_F(WorkspaceTest, RefusesAnEmptyToken) {
  ASSERT_TRUE(Workspace::OpenOrCreate(dir_).ok());
  std::ofstream(dir_ + "/token", std::ios::trunc).close();
  auto ws = Workspace::OpenOrCreate(dir_);
  EXPECT_EQ(ws.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ws.status().message(), HasSubstr("is empty; delete it to get a new token"));
}

TEST_F(WorkspaceTest, ReadOnlyNeedsAnExistingWorkspace) {
  auto missing = Workspace::OpenReadOnly(dir_);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("no workspace at " + dir_));
  ASSERT_TRUE(Workspace::OpenOrCreate(dir_).ok());
  auto ws = Workspace::OpenReadOnly(dir_);
  ASSERT_TRUE(ws.ok()) << ws.status();
  EXPECT_EQ((*ws)->token().size(), 64u);
  EXPECT_TRUE((*ws)->store()->GetCompute("cpu-cluster").ok());
}

TEST_F(WorkspaceTest, ControllerAddressRoundTripAndLiveness) {
  auto ws = Workspace::OpenOrCreate(dir_);
  ASSERT_TRUE(ws.ok());
  EXPECT_FALSE((*ws)->ReadControllerAddress().has_value());
  ASSERT_TRUE((*ws)->WriteControllerAddress({"127.0.0.1:4242", ::getpid()}).ok());
  auto addr = (*ws)->ReadControllerAddress();
  ASSERT_TRUE(addr.has_value());
  EXPECT_EQ(addr->address, "127.0.0.1:4242");
  EXPECT_EQ(addr->pid, ::getpid());
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/controller.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // A pid that has exited means no controller.
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  ASSERT_TRUE((*ws)->WriteControllerAddress({"127.0.0.1:4243", child}).ok());
  EXPECT_FALSE((*ws)->ReadControllerAddress().has_value());

  std::ofstream(dir_ + "/controller.json", std::ios::trunc) << "{not json";
  EXPECT_FALSE((*ws)->ReadControllerAddress().has_value());

  ASSERT_TRUE((*ws)->WriteControllerAddress({"127.0.0.1:4242", ::getpid()}).ok());
  (*ws)->RemoveControllerAddress();
  EXPECT_FALSE(fs::exists(dir_ + "/controller.json"));
}

TEST(DefaultWorkspaceDirTest, UsesEnvironmentThenDotSweep) {
  const char* old = std::getenv("SWEEP_WORKSPACE");
  std::string saved = old ? old : "";
  ::setenv("SWEEP_WORKSPACE", "/data/ws", 1);
  EXPECT_EQ(DefaultWorkspaceDir(), "/data/ws");
  ::unsetenv("SWEEP_WORKSPACE");
  EXPECT_EQ(DefaultWorkspaceDir(), "./.sweep");
  if (old) ::setenv("SWEEP_WORKSPACE", saved.c_str(), 1);
}

}  // namespace
}  // namespace sweep::workspace
