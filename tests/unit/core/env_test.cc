#include "core/env.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "core/digest.h"
#include "core/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sweep::core {
namespace {

using ::testing::HasSubstr;

// A fresh directory per test, removed afterwards.
class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> dir = env_->MakeTempDir(::testing::TempDir(), "env_test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *dir;
  }
  void TearDown() override { ASSERT_TRUE(env_->RemoveAll(dir_).ok()); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Spawns argv with stdout and stderr piped; returns (exit, stdout, stderr).
  struct Ran {
    ExitStatus exit;
    std::string out;
    std::string err;
  };
  Ran Run(SpawnOptions options) {
    options.stdout_to = Stdio::Pipe();
    if (options.stderr_to.kind == Stdio::Kind::kInherit) options.stderr_to = Stdio::Pipe();
    absl::StatusOr<std::unique_ptr<Subprocess>> p = env_->Spawn(options);
    EXPECT_TRUE(p.ok()) << p.status();
    Ran ran;
    if (!p.ok()) return ran;
    while ((*p)->ReadOutput(1000, [&](int stream, std::string_view data) {
      (stream == 1 ? ran.out : ran.err).append(data);
    })) {
    }
    absl::StatusOr<ExitStatus> exit = (*p)->Reap();
    EXPECT_TRUE(exit.ok()) << exit.status();
    if (exit.ok()) ran.exit = *exit;
    return ran;
  }

  Env* env_ = Env::Default();
  std::string dir_;
};

TEST_F(EnvTest, ReadsAndWritesWholeFiles) {
  ASSERT_TRUE(env_->WriteFile(Path("a"), "hello").ok());
  EXPECT_EQ(*env_->ReadFile(Path("a")), "hello");
  absl::StatusOr<std::string> missing = env_->ReadFile(Path("none"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "cannot read " + Path("none") + ": No such file or directory");
  EXPECT_EQ(ErrnoOf(missing.status()), ENOENT);
  EXPECT_EQ(ErrnoOf(absl::InternalError("no errno")), 0);
}

TEST_F(EnvTest, WritesAtomicallyWithModeAndLeavesNoTemporaryFile) {
  ASSERT_TRUE(env_->WriteFileAtomically(Path("f"), "one").ok());
  ASSERT_TRUE(env_->WriteFileAtomically(Path("f"), "two", {.mode = 0600}).ok());
  EXPECT_EQ(*env_->ReadFile(Path("f")), "two");
  EXPECT_EQ(*env_->ListDir(dir_), std::vector<std::string>{"f"});
  ASSERT_TRUE(env_->WriteFileAtomically(Path("g"), "x", {.mode = 0600}).ok());
  EXPECT_EQ(env_->Stat(Path("g"))->mode, 0600u);
  absl::Status no_dir = env_->WriteFileAtomically(Path("none/f"), "x");
  EXPECT_EQ(no_dir.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(no_dir.message(), HasSubstr("cannot create " + Path("none/f.tmp.")));
}

TEST_F(EnvTest, WritableFileAppendsExclusiveAndNoFollow) {
  {
    auto f = env_->NewWritableFile(Path("log"));
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("ab").ok());
    EXPECT_EQ((*f)->size(), 2);
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  auto appended = env_->NewWritableFile(Path("log"), {.append = true});
  ASSERT_TRUE(appended.ok());
  EXPECT_EQ((*appended)->size(), 2);
  ASSERT_TRUE((*appended)->Append("cd").ok());
  EXPECT_EQ((*appended)->size(), 4);
  appended->reset();
  EXPECT_EQ(*env_->ReadFile(Path("log")), "abcd");

  auto exclusive = env_->NewWritableFile(Path("log"), {.exclusive = true});
  EXPECT_EQ(ErrnoOf(exclusive.status()), EEXIST);
  ASSERT_TRUE(env_->CreateSymlink(Path("log"), Path("link")).ok());
  auto no_follow = env_->NewWritableFile(Path("link"), {.append = true, .no_follow = true});
  EXPECT_EQ(ErrnoOf(no_follow.status()), ELOOP);
}

// Without append an existing file is emptied (without O_TRUNC when it already is, so
// ext4 does not flush it at close; posix_env.cc).
TEST_F(EnvTest, WritableFileEmptiesAnExistingFile) {
  ASSERT_TRUE(env_->WriteFile(Path("old"), "previous content").ok());
  for (const std::string text : {"new", "", "again"}) {
    auto f = env_->NewWritableFile(Path("old"));
    ASSERT_TRUE(f.ok());
    EXPECT_EQ((*f)->size(), 0);
    ASSERT_TRUE((*f)->Append(text).ok());
    ASSERT_TRUE((*f)->Close().ok());
    EXPECT_EQ(*env_->ReadFile(Path("old")), text);
  }
}

TEST_F(EnvTest, RandomAccessReadsPieces) {
  ASSERT_TRUE(env_->WriteFile(Path("r"), "0123456789").ok());
  auto f = env_->NewRandomAccessFile(Path("r"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*(*f)->Size(), 10);
  EXPECT_EQ(*(*f)->Read(2, 3), "234");
  EXPECT_EQ(*(*f)->Read(8, 5), "89");
  EXPECT_EQ(*(*f)->Read(10, 5), "");
  EXPECT_EQ(env_->NewRandomAccessFile(Path("none")).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(EnvTest, DirectoriesLinksAndMetadata) {
  ASSERT_TRUE(env_->CreateDirs(Path("a/b/c")).ok());
  ASSERT_TRUE(env_->CreateDirs(Path("a/b/c")).ok());  // present: fine
  EXPECT_TRUE(env_->IsDirectory(Path("a/b")));
  ASSERT_TRUE(env_->WriteFile(Path("a/x"), "12345", 0755).ok());
  ASSERT_TRUE(env_->SetPermissions(Path("a/x"), 0750).ok());
  absl::StatusOr<FileInfo> info = env_->Stat(Path("a/x"));
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->is_regular());
  EXPECT_EQ(info->size, 5);
  EXPECT_EQ(info->mode, 0750u);
  EXPECT_GT(info->mtime_ms, 0);
  EXPECT_EQ(*env_->ListDir(Path("a")), (std::vector<std::string>{"b", "x"}));

  ASSERT_TRUE(env_->CreateSymlink("x", Path("a/l")).ok());
  EXPECT_EQ(env_->Stat(Path("a/l"), /*follow_symlinks=*/false)->type, FileType::kSymlink);
  EXPECT_TRUE(env_->Stat(Path("a/l"))->is_regular());
  EXPECT_EQ(*env_->ReadSymlink(Path("a/l")), "x");

  ASSERT_TRUE(env_->CopyFile(Path("a/x"), Path("copy")).ok());
  EXPECT_EQ(*env_->ReadFile(Path("copy")), "12345");
  EXPECT_EQ(env_->Stat(Path("copy"))->mode, 0750u);

  ASSERT_TRUE(env_->Rename(Path("copy"), Path("moved")).ok());
  EXPECT_FALSE(env_->Exists(Path("copy")));
  ASSERT_TRUE(env_->RemoveFile(Path("moved")).ok());
  EXPECT_EQ(env_->RemoveFile(Path("moved")).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(env_->RemoveAll(Path("a")).ok());
  ASSERT_TRUE(env_->RemoveAll(Path("a")).ok());  // missing: fine
  EXPECT_FALSE(env_->Exists(Path("a")));
  EXPECT_TRUE(env_->SyncDir(dir_).ok());

  absl::StatusOr<std::string> tmp = env_->MakeTempDir(dir_, "t-");
  ASSERT_TRUE(tmp.ok());
  EXPECT_TRUE(env_->IsDirectory(*tmp));
  EXPECT_THAT(*tmp, HasSubstr(dir_ + "/t-"));
}

TEST_F(EnvTest, LockFileExcludesASecondHolder) {
  auto first = env_->OpenLockFile(Path("lock"));
  auto second = env_->OpenLockFile(Path("lock"));
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE((*first)->Lock().ok());
  EXPECT_FALSE((*second)->TryLock());
  first->reset();
  EXPECT_TRUE((*second)->TryLock());
}

TEST_F(EnvTest, ClocksSleepAndRandomness) {
  int64_t wall = env_->NowMillis();
  int64_t start = env_->MonotonicMillis();
  env_->SleepForMillis(20);
  EXPECT_GE(env_->MonotonicMillis() - start, 20);
  EXPECT_GE(env_->NowMillis(), wall);
  absl::StatusOr<std::string> a = env_->RandomBytes(32), b = env_->RandomBytes(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
  EXPECT_NE(env_->RandomSeed(), env_->RandomSeed());
}

TEST_F(EnvTest, SpawnPipesOutputAndReportsTheExit) {
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "echo out; echo err >&2; pwd; echo $ONLY; exit 3"};
  options.env = std::map<std::string, std::string>{{"ONLY", "this"}};
  options.working_dir = dir_;
  Ran ran = Run(options);
  EXPECT_EQ(ran.exit.exit_code, 3);
  EXPECT_EQ(ran.exit.signal, 0);
  EXPECT_EQ(ran.out, "out\n" + dir_ + "\nthis\n");
  EXPECT_EQ(ran.err, "err\n");
}

TEST_F(EnvTest, SpawnSendsStderrToStdoutOrAFile) {
  SpawnOptions options;
  options.argv = {"sh", "-c", "echo one; echo two >&2"};  // found on PATH
  options.stderr_to = Stdio::SameAsStdout();
  EXPECT_EQ(Run(options).out, "one\ntwo\n");

  ASSERT_TRUE(env_->WriteFile(Path("log"), "before\n").ok());
  options.stdout_to = Stdio::File(Path("log"), /*append=*/true);
  auto p = env_->Spawn(options);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE((*p)->ReadOutput(10, [](int, std::string_view) {}));  // nothing piped
  EXPECT_EQ((*p)->Reap()->exit_code, 0);
  EXPECT_EQ(*env_->ReadFile(Path("log")), "before\none\ntwo\n");
}

TEST_F(EnvTest, SpawnFeedsAPipedStdin) {
  SpawnOptions options;
  options.argv = {"cat"};
  options.stdin_to = Stdio::Pipe();
  options.stdout_to = Stdio::Pipe();
  auto p = env_->Spawn(options);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE((*p)->WriteInput("fed\n").ok());
  (*p)->CloseInput();
  std::string out;
  while ((*p)->ReadOutput(1000, [&](int, std::string_view d) { out.append(d); })) {
  }
  EXPECT_EQ(out, "fed\n");
  EXPECT_EQ((*p)->Reap()->exit_code, 0);
}

// The reader sees the exit while a grandchild still holds the pipe open, so one thread can
// read and reap; a child with nothing piped is not watched.
TEST_F(EnvTest, ReadOutputSeesTheExitWhileAGrandchildHoldsThePipe) {
  SpawnOptions options;
  options.argv = {"sh", "-c", "echo started; sleep 300 & exit 7"};
  options.stdout_to = Stdio::Pipe();
  options.new_process_group = true;
  auto p = env_->Spawn(options);
  ASSERT_TRUE(p.ok()) << p.status();
  if (!(*p)->WatchesExit()) {
    (*p)->SignalGroup(SIGKILL);
    (*p)->Reap().IgnoreError();
    GTEST_SKIP() << "this kernel has no pidfd_open";
  }
  std::string out;
  bool open = true;
  // Up to 10 s: without the exit watch, the pipe stays open for 300 s.
  for (int calls = 0; calls < 200 && open && !(*p)->ExitSeen(); ++calls) {
    open = (*p)->ReadOutput(50, [&](int, std::string_view d) { out.append(d); });
  }
  EXPECT_TRUE((*p)->ExitSeen());
  EXPECT_TRUE(open) << "the grandchild holds the pipe";
  (*p)->SignalGroup(SIGKILL);  // the sleep
  EXPECT_EQ((*p)->Reap()->exit_code, 7);
  EXPECT_EQ(out.substr(0, 8), "started\n");

  options.argv = {"true"};
  options.stdout_to = Stdio::Inherit();
  auto quiet = env_->Spawn(options);
  ASSERT_TRUE(quiet.ok());
  EXPECT_FALSE((*quiet)->WatchesExit());
  EXPECT_EQ((*quiet)->Reap()->exit_code, 0);
}

TEST_F(EnvTest, SpawnOfAMissingProgramFailsWithItsErrno) {
  SpawnOptions options;
  options.argv = {Path("no-such-program")};
  auto p = env_->Spawn(options);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(p.status().message(),
            "cannot run '" + Path("no-such-program") + "': No such file or directory");
  EXPECT_EQ(ErrnoOf(p.status()), ENOENT);
  options.argv = {};
  EXPECT_EQ(env_->Spawn(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.argv = {"true"};
  options.stdout_to = Stdio::File(Path("none/log"));
  EXPECT_EQ(env_->Spawn(options).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(EnvTest, SignalGroupReachesWhatTheChildSpawned) {
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "sleep 30 & echo $!; wait"};
  options.new_process_group = true;
  options.stdout_to = Stdio::Pipe();
  auto p = env_->Spawn(options);
  ASSERT_TRUE(p.ok());
  std::string out;
  while (out.find('\n') == std::string::npos &&
         (*p)->ReadOutput(1000, [&](int, std::string_view d) { out.append(d); })) {
  }
  const int64_t sleeper = std::stoll(out);
  EXPECT_TRUE(env_->ProcessExists(sleeper));
  (*p)->SignalGroup(SIGKILL);
  absl::StatusOr<ExitStatus> exit = (*p)->Reap();
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->signal, SIGKILL);
  EXPECT_EQ(exit->exit_code, -1);
  for (int i = 0; i < 200 && env_->ProcessExists(sleeper); ++i) env_->SleepForMillis(10);
  EXPECT_FALSE(env_->ProcessExists(sleeper));  // killed (and reaped by init)
  (*p)->Signal(SIGKILL);                       // reaped: a no-op
  EXPECT_EQ((*p)->Reap()->signal, SIGKILL);    // the same answer again
}

TEST_F(EnvTest, ParentDeathSignalKillsTheChildWhenTheSpawningThreadEnds) {
  SpawnOptions options;
  options.argv = {"sleep", "30"};
  options.parent_death_signal = SIGKILL;
  std::unique_ptr<Subprocess> child;
  std::thread spawner([&] {
    auto p = env_->Spawn(options);
    ASSERT_TRUE(p.ok()) << p.status();
    child = *std::move(p);
  });
  spawner.join();  // the "parent" of PR_SET_PDEATHSIG is the thread
  ASSERT_NE(child, nullptr);
  absl::StatusOr<ExitStatus> exit = child->Reap();
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->signal, SIGKILL);

  // The fork/exec path reports exec failures and runs programs like posix_spawn does.
  options.argv = {Path("missing")};
  EXPECT_EQ(ErrnoOf(env_->Spawn(options).status()), ENOENT);
  options.argv = {"/bin/sh", "-c", "echo $X; exit 4"};
  options.env = std::map<std::string, std::string>{{"X", "forked"}};
  Ran ran = Run(options);
  EXPECT_EQ(ran.exit.exit_code, 4);
  EXPECT_EQ(ran.out, "forked\n");
}

TEST_F(EnvTest, ProcessExists) {
  EXPECT_TRUE(env_->ProcessExists(::getpid()));
  EXPECT_FALSE(env_->ProcessExists(0));
  SpawnOptions options;
  options.argv = {"true"};
  auto p = env_->Spawn(options);
  ASSERT_TRUE(p.ok());
  int64_t pid = (*p)->pid();
  ASSERT_TRUE((*p)->Reap().ok());
  EXPECT_FALSE(env_->ProcessExists(pid));
}

// --- FaultEnv ---

class FaultEnvTest : public EnvTest {
 protected:
  FaultEnv faults_{Env::Default()};
};

TEST_F(FaultEnvTest, DiskFullAfterNBytesWritesThePartThatFits) {
  faults_.DiskFullAfter(6, dir_);
  auto f = faults_.NewWritableFile(Path("data"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("1234").ok());
  absl::Status full = (*f)->Append("5678");
  EXPECT_EQ(ErrnoOf(full), ENOSPC);
  EXPECT_EQ(full.message(), "cannot write " + Path("data") + ": No space left on device");
  (*f)->Close().IgnoreError();
  EXPECT_EQ(*faults_.ReadFile(Path("data")), "123456");
  EXPECT_EQ(faults_.bytes_written(), 6);

  // An atomic write fails whole and leaves no temporary file behind.
  absl::Status atomic = faults_.WriteFileAtomically(Path("manifest"), "{}");
  EXPECT_EQ(ErrnoOf(atomic), ENOSPC);
  EXPECT_EQ(*faults_.ListDir(dir_), std::vector<std::string>{"data"});
  faults_.Clear();
  EXPECT_TRUE(faults_.WriteFileAtomically(Path("manifest"), "{}").ok());
}

TEST_F(FaultEnvTest, FailWritesOnlyUnderItsPrefix) {
  ASSERT_TRUE(faults_.CreateDirs(Path("bad")).ok());
  int id = faults_.FailWrites(Path("bad"));
  absl::Status s = faults_.WriteFile(Path("bad/f"), "x");
  EXPECT_EQ(ErrnoOf(s), EIO);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(faults_.WriteFile(Path("badly"), "x").ok());  // a sibling, not under it
  EXPECT_TRUE(faults_.WriteFile(Path("good"), "x").ok());
  faults_.Remove(id);
  EXPECT_TRUE(faults_.WriteFile(Path("bad/f"), "x").ok());
}

TEST_F(FaultEnvTest, ReadOnlyDirectoryRefusesEveryChangeButReads) {
  ASSERT_TRUE(faults_.WriteFile(Path("kept"), "old").ok());
  faults_.MakeReadOnly(dir_);
  EXPECT_EQ(ErrnoOf(faults_.WriteFile(Path("new"), "x")), EROFS);
  EXPECT_EQ(ErrnoOf(faults_.WriteFileAtomically(Path("kept"), "x")), EROFS);
  EXPECT_EQ(ErrnoOf(faults_.CreateDirs(Path("d"))), EROFS);
  EXPECT_EQ(ErrnoOf(faults_.Rename(Path("kept"), Path("k2"))), EROFS);
  EXPECT_EQ(ErrnoOf(faults_.RemoveFile(Path("kept"))), EROFS);
  EXPECT_EQ(ErrnoOf(faults_.RemoveAll(Path("kept"))), EROFS);
  EXPECT_EQ(ErrnoOf(faults_.SyncDir(dir_)), EROFS);
  EXPECT_EQ(ErrnoOf(faults_.OpenLockFile(Path("lock")).status()), EROFS);
  EXPECT_EQ(ErrnoOf(faults_.MakeTempDir(dir_, "t").status()), EROFS);
  EXPECT_EQ(*faults_.ReadFile(Path("kept")), "old");
  EXPECT_TRUE(faults_.CreateDirs(dir_).ok());  // already there: no change
  faults_.Clear();
  faults_.MakeReadOnly(dir_, EACCES);
  EXPECT_EQ(faults_.WriteFile(Path("new"), "x").code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(FaultEnvTest, CorruptAndFailingReads) {
  ASSERT_TRUE(faults_.WriteFile(Path("blob"), "payload").ok());
  const std::string good = *Sha256File(Path("blob"), &faults_);
  faults_.CorruptReads(Path("blob"));
  absl::StatusOr<std::string> read = faults_.ReadFile(Path("blob"));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->size(), 7u);
  EXPECT_NE(*read, "payload");
  EXPECT_EQ(read->substr(1), "ayload");
  EXPECT_NE(*Sha256File(Path("blob"), &faults_), good);
  EXPECT_EQ(*Sha256File(Path("blob")), good);  // the disk itself is intact
  faults_.Clear();
  faults_.FailReads(dir_);
  EXPECT_EQ(ErrnoOf(faults_.ReadFile(Path("blob")).status()), EIO);
  EXPECT_EQ(ErrnoOf(Sha256File(Path("blob"), &faults_).status()), EIO);
  EXPECT_EQ(ErrnoOf(faults_.ListDir(dir_).status()), EIO);
}

TEST_F(FaultEnvTest, FailedSyncs) {
  faults_.FailSyncs(dir_);
  auto f = faults_.NewWritableFile(Path("f"));
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->Append("x").ok());
  EXPECT_EQ(ErrnoOf((*f)->Sync()), EIO);
  EXPECT_EQ(ErrnoOf(faults_.WriteFileAtomically(Path("g"), "x")), EIO);
}

TEST_F(FaultEnvTest, ClockStepsMoveTheWallClockOnly) {
  int64_t wall = faults_.NowMillis();
  int64_t mono = faults_.MonotonicMillis();
  faults_.StepClock(-3'600'000);
  EXPECT_LE(faults_.NowMillis(), wall - 3'600'000 + 1'000);
  EXPECT_GE(faults_.MonotonicMillis(), mono);
  faults_.StepClock(7'200'000);
  EXPECT_GE(faults_.NowMillis(), wall + 3'600'000);
}

TEST_F(FaultEnvTest, FailedSpawns) {
  faults_.FailSpawns("/bin/");
  SpawnOptions options;
  options.argv = {"/bin/true"};
  absl::StatusOr<std::unique_ptr<Subprocess>> p = faults_.Spawn(options);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrnoOf(p.status()), EAGAIN);
  options.argv = {"true"};
  p = faults_.Spawn(options);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->Reap()->exit_code, 0);
}

}  // namespace
}  // namespace sweep::core
