// remotevm targets against the real OpenSSH server of .ci/start-sshd.sh (127.0.0.1:2222,
// users sweepkey and sweeppass). Skipped, saying why, when that server is not the one
// running there (tests/test_services.h), unless SWEEP_REQUIRE_SERVICES=1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/test_services.h"

namespace sweep::e2e {
namespace {

namespace fs = std::filesystem;

const std::string kCi = ::sweep::testutil::kCiSshDir;
const std::string kKey = kCi + "/sweepkey_ed25519";
const std::string kPassKey = kCi + "/sweepkey_pass_ed25519";
const std::string kPassphrase = kCi + "/sweepkey_pass.passphrase";
const std::string kPassword = kCi + "/sweeppass.password";
const std::string kUnauthorizedKey = kCi + "/unauthorized_ed25519";
constexpr int kSshPort = ::sweep::testutil::kCiSshPort;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// rwxr-xr-x: the SSH test users run as other users than the test.
void OpenToAll(const std::string& path) {
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
}

// A work dir on the VM, unique to this test process, removed at the end (the test users
// create it; this test runs as root). Under the temporary directory, which must be
// writable by everyone as /tmp is.
class RemoteDir {
 public:
  explicit RemoteDir(const std::string& label)
      : path_((fs::temp_directory_path() /
               ("sweep-ssh-e2e-" + label + "-" + std::to_string(::getpid())))
                  .string()) {}
  ~RemoteDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

unsigned Mode(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

class SshE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    SWEEP_REQUIRE_SSHD();
    // The test users cannot read the build tree: give them a copy of sweep.
    OpenToAll(bin_.path());
    sweep_path_ = bin_.path() + "/sweep";
    fs::copy_file(SweepBinary(), sweep_path_);
    OpenToAll(sweep_path_);
  }

  std::string ws() const { return ws_.path() + "/ws"; }

  CommandResult Attach(const std::string& name, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"compute",   "attach",    name,          "--type", "remotevm",
                                     "--address", "127.0.0.1", "--workspace", ws()};
    args.insert(args.end(), extra.begin(), extra.end());
    // Defaults for what `extra` does not set.
    for (const auto& [flag, value] : {std::pair{"--ssh-port", std::to_string(kSshPort)},
                                      std::pair{"--sweep-path", sweep_path_}}) {
      if (std::find(extra.begin(), extra.end(), flag) == extra.end()) {
        args.insert(args.end(), {flag, value});
      }
    }
    return RunSweep(args, 60);
  }

  // Only the default cluster exists and no credentials were kept for `name`.
  void ExpectNothingStored(const std::string& name) {
    if (fs::exists(ws() + "/sweep.db")) {
      nlohmann::json list = ParseJson(RunSweep({"compute", "list", "--json", "--workspace", ws()}));
      for (const auto& t : list) EXPECT_NE(t["name"], name) << list.dump();
    }
    EXPECT_FALSE(fs::exists(ws() + "/ssh/" + name)) << "credentials left behind";
  }

  TempDir ws_;
  TempDir bin_;
  std::string sweep_path_;
};

TEST_F(SshE2E, AttachWithKeyPassphraseAndPasswordKeepsSecretsPrivate) {
  CommandResult key = Attach("vm-key", {"--username", "sweepkey", "--private-key-file", kKey});
  ASSERT_EQ(key.exit_code, 0) << key.out << key.err;
  EXPECT_NE(key.out.find("was not known; trusted its key SHA256:"), std::string::npos) << key.out;
  EXPECT_NE(key.out.find("the VM runs sweep "), std::string::npos) << key.out;
  EXPECT_NE(Slurp(ws() + "/ssh/known_hosts").find("[127.0.0.1]:2222"), std::string::npos);

  CommandResult pass_key =
      Attach("vm-pass-key", {"--username", "sweepkey", "--private-key-file", kPassKey,
                             "--private-key-passphrase-file", kPassphrase, "--json"});
  ASSERT_EQ(pass_key.exit_code, 0) << pass_key.out << pass_key.err;
  nlohmann::json j = ParseJson(pass_key);
  EXPECT_EQ(j["host_key"]["added"], false) << "the host is known by now";
  EXPECT_EQ(j["properties"]["auth"], "private_key");

  CommandResult pw = Attach("vm-pw", {"--username", "sweeppass", "--password-file", kPassword,
                                      "--workers-per-node", "3", "--work-dir", "/tmp/x y"});
  ASSERT_EQ(pw.exit_code, 0) << pw.out << pw.err;

  const std::vector<std::string> secrets = {Slurp(kKey), Slurp(kPassKey), Slurp(kPassphrase),
                                            Slurp(kPassword)};
  auto expect_no_secret = [&](const std::string& text) {
    for (const std::string& secret : secrets) {
      std::string first_line = secret.substr(0, secret.find('\n'));
      std::string body = secret.size() > 80 ? secret.substr(40, 40) : first_line;
      EXPECT_EQ(text.find(body), std::string::npos) << "a secret was printed:\n" << text;
    }
  };
  for (const auto& text : {key.out, key.err, pass_key.out, pw.out, pw.err}) {
    expect_no_secret(text);
  }
  CommandResult show = RunSweep({"compute", "show", "vm-pw", "--workspace", ws()});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("sweeppass@127.0.0.1:2222 (password)"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("workers     3"), std::string::npos) << show.out;
  expect_no_secret(show.out);
  show = RunSweep({"compute", "show", "vm-pass-key", "--workspace", ws()});
  EXPECT_NE(show.out.find("(private key)"), std::string::npos) << show.out;
  expect_no_secret(show.out);
  CommandResult show_json = RunSweep({"compute", "show", "vm-pw", "--json", "--workspace", ws()});
  nlohmann::json props = ParseJson(show_json)["properties"];
  EXPECT_EQ(props["address"], "127.0.0.1");
  EXPECT_EQ(props["port"], 2222);
  EXPECT_EQ(props["username"], "sweeppass");
  EXPECT_EQ(props["auth"], "password");
  EXPECT_EQ(props["workers_per_node"], 3);
  EXPECT_EQ(props["work_dir"], "/tmp/x y");
  expect_no_secret(show_json.out);
  expect_no_secret(RunSweep({"compute", "list", "--json", "--workspace", ws()}).out);

  EXPECT_EQ(Mode(ws() + "/ssh"), 0700u);
  EXPECT_EQ(Mode(ws() + "/ssh/vm-pw"), 0700u);
  EXPECT_EQ(Mode(ws() + "/ssh/vm-pw/password"), 0600u);
  EXPECT_EQ(Mode(ws() + "/ssh/vm-key/private_key"), 0600u);
  EXPECT_EQ(Mode(ws() + "/ssh/vm-pass-key/private_key"), 0600u);
  EXPECT_EQ(Mode(ws() + "/ssh/vm-pass-key/passphrase"), 0600u);
  EXPECT_EQ(Slurp(ws() + "/ssh/vm-key/private_key"), Slurp(kKey));

  CommandResult update =
      RunSweep({"compute", "update", "vm-pw", "--max-nodes", "5", "--workspace", ws()});
  EXPECT_EQ(update.exit_code, 2);
  EXPECT_NE(update.err.find("delete it and attach it again"), std::string::npos) << update.err;
  EXPECT_EQ(
      ParseJson(RunSweep({"compute", "show", "vm-pw", "--json", "--workspace", ws()}))["max_nodes"],
      3);

  ASSERT_EQ(RunSweep({"compute", "delete", "vm-pw", "--workspace", ws()}).exit_code, 0);
  EXPECT_FALSE(fs::exists(ws() + "/ssh/vm-pw")) << "delete removes the credentials";
}

TEST_F(SshE2E, AttachThroughTheServingControllerKeepsTheCredentialsInItsWorkspace) {
  BackgroundSweep server({"server", "--listen", "127.0.0.1:0", "--workspace", ws()});
  const std::string banner = server.WaitFirstLine(60);
  const std::string prefix = "sweep server listening on ";
  ASSERT_EQ(banner.rfind(prefix, 0), 0u) << banner;
  const std::string address =
      banner.substr(prefix.size(), banner.find(' ', prefix.size()) - prefix.size());

  // Found through the workspace lock.
  CommandResult key = Attach("vm-srv", {"--username", "sweepkey", "--private-key-file", kKey});
  ASSERT_EQ(key.exit_code, 0) << key.out << key.err;
  EXPECT_NE(key.out.find("was not known; trusted its key SHA256:"), std::string::npos) << key.out;
  EXPECT_NE(key.out.find("(recorded in " + ws() + "/ssh/known_hosts)"), std::string::npos);
  EXPECT_EQ(Slurp(ws() + "/ssh/vm-srv/private_key"), Slurp(kKey));
  EXPECT_EQ(Mode(ws() + "/ssh/vm-srv/private_key"), 0600u);

  // From elsewhere: the credentials travel to the server; the CLI's workspace stays untouched.
  TempDir other;
  const std::string elsewhere = other.path() + "/ws";
  std::vector<std::string> remote = {"compute",      "attach",         "vm-far",
                                     "--type",       "remotevm",       "--address",
                                     "127.0.0.1",    "--ssh-port",     std::to_string(kSshPort),
                                     "--sweep-path", sweep_path_,      "--username",
                                     "sweeppass",    "--server",       address,
                                     "--token-file", ws() + "/token",  "--workspace",
                                     elsewhere,      "--password-file"};
  TempDir files;
  std::vector<std::string> wrong = remote;
  wrong.push_back(files.Write("wrong.password", "nope\n"));
  CommandResult rejected = RunSweep(wrong, 60);
  EXPECT_EQ(rejected.exit_code, 2) << rejected.err;
  EXPECT_NE(rejected.err.find("rejected the password of user sweeppass on 127.0.0.1:2222 (from " +
                              files.path() + "/wrong.password)"),
            std::string::npos)
      << "named as the user knows it: " << rejected.err;
  EXPECT_FALSE(fs::exists(ws() + "/ssh/vm-far"));
  remote.push_back(kPassword);
  CommandResult pw = RunSweep(remote, 60);
  ASSERT_EQ(pw.exit_code, 0) << pw.out << pw.err;
  EXPECT_FALSE(fs::exists(elsewhere));
  EXPECT_EQ(Mode(ws() + "/ssh/vm-far/password"), 0600u);
  EXPECT_EQ(Slurp(ws() + "/ssh/vm-far/password"), Slurp(kPassword));

  ASSERT_EQ(RunSweep({"compute", "delete", "vm-far", "--workspace", ws()}).exit_code, 0);
  EXPECT_FALSE(fs::exists(ws() + "/ssh/vm-far")) << "the server removed the credentials";
  server.Signal(SIGTERM);
  CommandResult log = server.Wait(60);
  EXPECT_NE(log.out.find("compute attached: vm-srv (remotevm, sweepkey@127.0.0.1:2222, 1 "
                         "worker(s))"),
            std::string::npos)
      << log.out;
  EXPECT_NE(log.out.find("compute deleted: vm-far"), std::string::npos) << log.out;
}

struct BadAttach {
  std::string what;
  std::vector<std::string> args;
  int exit_code;
  std::string message;
};

TEST_F(SshE2E, BadAttachInputsAreClearAndStoreNothing) {
  TempDir files;
  std::string wrong_password = files.Write("wrong.password", "not-the-password\n");
  std::string wrong_passphrase = files.Write("wrong.passphrase", "nope\n");
  // A port that accepts TCP but never speaks SSH: the connection times out.
  int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(silent, 4), 0);
  socklen_t len = sizeof addr;
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string silent_port = std::to_string(ntohs(addr.sin_port));

  const std::vector<std::string> key_user = {"--username", "sweepkey"};
  const std::vector<BadAttach> cases = {
      {"wrong password",
       {"--username", "sweeppass", "--password-file", wrong_password},
       2,
       "rejected the password of user sweeppass"},
      {"wrong key",
       {"--username", "sweepkey", "--private-key-file", kUnauthorizedKey},
       2,
       "rejected private key " + kUnauthorizedKey},
      {"wrong passphrase",
       {"--username", "sweepkey", "--private-key-file", kPassKey, "--private-key-passphrase-file",
        wrong_passphrase},
       2,
       "wrong passphrase"},
      {"missing passphrase",
       {"--username", "sweepkey", "--private-key-file", kPassKey},
       2,
       "--private-key-passphrase-file"},
      {"unreadable key",
       {"--username", "sweepkey", "--private-key-file", files.path() + "/none"},
       2,
       "cannot read private key file (--private-key-file) " + files.path() + "/none"},
      {"password file missing",
       {"--username", "sweeppass", "--password-file", files.path() + "/missing"},
       2,
       "cannot read password file (--password-file) " + files.path() + "/missing"},
      {"no credentials", {"--username", "sweepkey"}, 2, "exactly one of --password-file"},
      {"refused port",
       {"--username", "sweepkey", "--private-key-file", kKey, "--ssh-port", "1"},
       1,
       "cannot reach 127.0.0.1:1 over SSH"},
      {"silent port",
       {"--username", "sweepkey", "--private-key-file", kKey, "--ssh-port", silent_port},
       1,
       "cannot reach 127.0.0.1:" + silent_port + " over SSH"},
      {"sweep missing on the VM",
       {"--username", "sweepkey", "--private-key-file", kKey, "--sweep-path", "/nonexistent/sweep"},
       1,
       "sweep was not found on sweepkey@127.0.0.1:2222"},
      {"bad port",
       {"--username", "sweepkey", "--private-key-file", kKey, "--ssh-port", "0"},
       2,
       "--ssh-port must be 1-65535"},
      {"bad workers",
       {"--username", "sweepkey", "--private-key-file", kKey, "--workers-per-node", "0"},
       2,
       "--workers-per-node must be 1-256"},
  };
  for (const BadAttach& c : cases) {
    auto start = std::chrono::steady_clock::now();
    CommandResult r = Attach("vm-bad", c.args);
    auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start)
            .count();
    EXPECT_EQ(r.exit_code, c.exit_code) << c.what << ": " << r.out << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos)
        << c.what << ": expected '" << c.message << "' in " << r.err;
    EXPECT_LT(seconds, 30) << c.what << " took too long";
    EXPECT_TRUE(r.out.empty()) << c.what << ": " << r.out;
    ExpectNothingStored("vm-bad");
  }
  ::close(silent);
  EXPECT_FALSE(fs::exists(ws() + "/ssh/known_hosts")) << "a failed attach must not trust the host";
}

TEST_F(SshE2E, ChangedHostKeyIsRefused) {
  // Record another key for the server, as if the VM had been replaced.
  fs::create_directories(ws() + "/ssh");
  std::string fake = Slurp(kUnauthorizedKey + ".pub");
  fake = fake.substr(0, fake.rfind(' '));
  std::ofstream(ws() + "/ssh/known_hosts") << "[127.0.0.1]:2222 " << fake << "\n";
  CommandResult r = Attach("vm-mitm", {"--username", "sweepkey", "--private-key-file", kKey});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("host key of 127.0.0.1:2222 has CHANGED"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ssh-keygen -R '[127.0.0.1]:2222' -f " + ws() + "/ssh/known_hosts"),
            std::string::npos)
      << r.err;
  ExpectNothingStored("vm-mitm");
}

TEST_F(SshE2E, SweepOnRemoteVmSurvivesAKilledWorkerAndLeavesNothingRunning) {
  // Its own work dir on the VM tells this test's workers apart.
  RemoteDir remote("run");
  const std::string& remote_dir = remote.path();
  CommandResult attach = Attach("vm-run", {"--username", "sweepkey", "--private-key-file", kKey,
                                           "--workers-per-node", "2", "--work-dir", remote_dir});
  ASSERT_EQ(attach.exit_code, 0) << attach.out << attach.err;
  TempDir dir;
  dir.Write("code/train.py",
            "import sys, time\n"
            "x = float(sys.argv[1])\n"
            "for step in range(3):\n"
            "    time.sleep(0.5)\n"
            "    print(f'score={x * (step + 1)}', flush=True)\n");
  std::string spec = dir.Write("remote.yml", R"YAML(type: sweep
trial:
  code: code
  command: python3 train.py ${{search_space.x}}
compute: azureml:vm-run
sampling_algorithm: grid
search_space:
  x: {type: choice, values: [1, 2, 3, 4, 5, 6]}
objective: {primary_metric: score, goal: maximize}
limits: {max_total_trials: 6, max_concurrent_trials: 2}
)YAML");
  // Workers read the trial's code dir from the path in the spec (no snapshot shipping
  // yet): the test user must be able to read it.
  OpenToAll(dir.path());
  BackgroundSweep run({"run", spec, "--workspace", ws(), "--lease-seconds", "3"});
  ASSERT_FALSE(run.WaitFirstLine().empty());
  ASSERT_TRUE(WaitFor([&] { return FindWorkers(remote_dir).size() == 2; }, 60))
      << "two workers start on the VM: " << run.Wait(1).out;
  std::vector<pid_t> first = FindWorkers(remote_dir);
  ASSERT_FALSE(first.empty());
  ASSERT_EQ(::kill(first[0], SIGKILL), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<pid_t> now = FindWorkers(remote_dir);
        return now.size() == 2 && std::find(now.begin(), now.end(), first[0]) == now.end();
      },
      60))
      << "the killed worker is replaced";
  CommandResult done = run.Wait(300);
  ASSERT_EQ(done.exit_code, 0) << done.out << done.err;
  EXPECT_NE(done.out.find("node restarted: compute vm-run: 1 worker(s) exited; restarted 1"),
            std::string::npos)
      << done.out;
  std::string id = done.out.substr(0, done.out.find('\n'));
  nlohmann::json trials = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws()}));
  ASSERT_EQ(trials.size(), 6u);
  for (const auto& t : trials) EXPECT_EQ(t["state"], "completed") << t.dump();
  EXPECT_TRUE(FindWorkers(remote_dir).empty()) << "workers left running on the VM";
  EXPECT_TRUE(FindWorkers("--compute vm-run").empty());
  EXPECT_EQ(Mode(remote_dir + "/token"), 0600u) << "the token on the VM is private";
}

TEST_F(SshE2E, WorkersHangUpWhenTheControllerDies) {
  RemoteDir remote("hup");
  const std::string& remote_dir = remote.path();
  ASSERT_EQ(Attach("vm-hup", {"--username", "sweeppass", "--password-file", kPassword,
                              "--workers-per-node", "2", "--work-dir", remote_dir})
                .exit_code,
            0);
  TempDir dir;
  OpenToAll(dir.path());
  dir.Write("code/slow.py", "import time\ntime.sleep(60)\nprint('score=1')\n");
  std::string spec = dir.Write("slow.yml", R"YAML(type: sweep
trial:
  code: code
  command: python3 slow.py ${{search_space.x}}
compute: vm-hup
sampling_algorithm: grid
search_space:
  x: {type: choice, values: [1, 2]}
objective: {primary_metric: score, goal: maximize}
limits: {max_total_trials: 2, max_concurrent_trials: 2}
)YAML");
  BackgroundSweep run({"run", spec, "--workspace", ws()});
  ASSERT_FALSE(run.WaitFirstLine().empty());
  ASSERT_TRUE(WaitFor([&] { return FindWorkers(remote_dir).size() == 2; }, 60));
  run.Signal(SIGKILL);  // no chance to stop them: the SSH connections just drop
  EXPECT_TRUE(WaitFor([&] { return FindWorkers(remote_dir).empty(); }, 30))
      << "the pty hangup must end the workers on the VM";
  run.Wait(10);
}

TEST_F(SshE2E, ForgottenHostKeyStopsWorkersFromStarting) {
  ASSERT_EQ(Attach("vm-forgot", {"--username", "sweepkey", "--private-key-file", kKey}).exit_code,
            0);
  fs::remove(ws() + "/ssh/known_hosts");
  TempDir dir;
  std::string spec = dir.Write("s.yml", R"YAML(type: sweep
trial:
  command: python3 -c "print('score=1')"
compute: vm-forgot
sampling_algorithm: random
search_space:
  x: {type: uniform, min_value: 0, max_value: 1}
objective: {primary_metric: score, goal: maximize}
limits: {max_total_trials: 1, timeout: 3}
)YAML");
  CommandResult run = RunSweep({"run", spec, "--workspace", ws()}, 60);
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_NE(run.out.find("scale up failed: compute vm-forgot: 0 -> 0 nodes (desired 1, max 1)"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("failed to start more: the host key of 127.0.0.1:2222"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("attach the target again"), std::string::npos) << run.out;
  EXPECT_FALSE(fs::exists(ws() + "/ssh/known_hosts")) << "the provider never trusts a host";
}

TEST(RemoteVmE2E, RemoteVmsAreAttachedNotCreated) {
  TempDir ws;
  CommandResult create =
      RunSweep({"compute", "create", "vm", "--type", "remotevm", "--workspace", ws.path()});
  EXPECT_EQ(create.exit_code, 2);
  EXPECT_NE(create.err.find("remotevm targets are attached, not created: `sweep compute "
                            "attach vm --type remotevm --address HOST"),
            std::string::npos)
      << create.err;
  CommandResult attach =
      RunSweep({"compute", "attach", "vm", "--type", "amlcompute", "--address", "h", "--username",
                "u", "--password-file", "/dev/null", "--workspace", ws.path()});
  EXPECT_EQ(attach.exit_code, 2);
  EXPECT_NE(attach.err.find("only remotevm targets can be attached"), std::string::npos)
      << attach.err;
  nlohmann::json list =
      ParseJson(RunSweep({"compute", "list", "--json", "--workspace", ws.path()}));
  EXPECT_EQ(list.size(), 1u) << list.dump();
}

TEST(RemoteVmE2E, VersionFlag) {
  CommandResult r = RunSweep({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("sweep ", 0), 0u) << r.out;
}

}  // namespace
}  // namespace sweep::e2e
