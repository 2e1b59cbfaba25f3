// remotevm settings, credential storage, shell quoting and the SSH provider's checks that
// need no SSH server (the e2e ssh_test.cc covers a real one).
#include "compute/remote_vm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "compute/ssh_provider.h"
#include "compute/ssh_session.h"
#include "core/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sweep::compute {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class RemoteVmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "remote-vm-test-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }

  static unsigned Mode(const std::string& path) {
    struct stat st {};
    ::stat(path.c_str(), &st);
    return st.st_mode & 07777;
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string dir_;
};

TEST_F(RemoteVmTest, PropertiesRoundTripWithoutSecrets) {
  RemoteVmProperties p;
  p.address = "10.0.0.7";
  p.port = 2200;
  p.username = "alice";
  p.auth = "private_key";
  p.private_key_file = "ssh/gpu/private_key";
  p.passphrase_file = "ssh/gpu/passphrase";
  p.sweep_path = "/opt/sweep";
  p.work_dir = "/scratch/s";
  p.workers_per_node = 3;
  core::ComputeTarget t;
  t.name = "gpu";
  t.properties_json = RemoteVmPropertiesJson(p);
  EXPECT_THAT(t.properties_json, ::testing::Not(HasSubstr("password_file")));
  auto back = ParseRemoteVmProperties(t);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->address, "10.0.0.7");
  EXPECT_EQ(back->port, 2200);
  EXPECT_EQ(back->username, "alice");
  EXPECT_EQ(back->private_key_file, "ssh/gpu/private_key");
  EXPECT_EQ(back->passphrase_file, "ssh/gpu/passphrase");
  EXPECT_EQ(back->workers_per_node, 3);
  EXPECT_EQ(RemoteWorkDir(*back, "gpu"), "/scratch/s");
  back->work_dir.clear();
  EXPECT_EQ(RemoteWorkDir(*back, "gpu"), ".sweep-remote/gpu");

  SshEndpoint e = WorkspaceEndpoint(*back, "/ws");
  EXPECT_EQ(e.private_key_file, "/ws/ssh/gpu/private_key");
  EXPECT_EQ(e.password_file, "");
  EXPECT_EQ(e.known_hosts_file, "/ws/ssh/known_hosts");
}

TEST_F(RemoteVmTest, IncompletePropertiesSayHowToFixThem) {
  core::ComputeTarget t;
  t.name = "box";
  t.type = "remotevm";
  t.properties_json = "{}";
  auto r = ParseRemoteVmProperties(t);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("sweep compute attach box --type remotevm"));
  t.properties_json = R"({"address": "h", "port": 22, "username": "u", "auth": "password"})";
  r = ParseRemoteVmProperties(t);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("no usable credentials"));
}

TEST_F(RemoteVmTest, CredentialsAreKeptPrivately) {
  std::string ws = dir_ + "/ws";
  RemoteVmCredentials c;
  c.private_key = "-----BEGIN KEY-----\nabc\n";
  c.passphrase = "secret\n";
  RemoteVmProperties p;
  ASSERT_TRUE(StoreCredentials(ws, "vm", c, p).ok());
  EXPECT_EQ(p.private_key_file, "ssh/vm/private_key");
  EXPECT_EQ(p.passphrase_file, "ssh/vm/passphrase");
  EXPECT_EQ(p.password_file, "");
  EXPECT_EQ(Mode(ws + "/ssh"), 0700u);
  EXPECT_EQ(Mode(ws + "/ssh/vm"), 0700u);
  EXPECT_EQ(Mode(ws + "/ssh/vm/private_key"), 0600u);
  EXPECT_EQ(Mode(ws + "/ssh/vm/passphrase"), 0600u);
  EXPECT_EQ(Slurp(ws + "/ssh/vm/private_key"), "-----BEGIN KEY-----\nabc\n") << "byte for byte";

  // A workspace that cannot hold them (a file where its directory should be).
  std::string not_a_dir = Write("file", "x");
  RemoteVmCredentials pw;
  pw.password = "x";
  auto status = StoreCredentials(not_a_dir, "vm2", pw, p);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(fs::exists(not_a_dir + "/ssh/vm2")) << "nothing left behind";
  RemoveCredentials(ws, "vm");
  EXPECT_FALSE(fs::exists(ws + "/ssh/vm"));
}

TEST_F(RemoteVmTest, CredentialsOnAFullDiskLeaveNothingBehind) {
  std::string ws = dir_ + "/ws";
  RemoteVmCredentials credentials;
  credentials.private_key = std::string(3000, 'k');
  core::FaultEnv faults(core::Env::Default());
  faults.DiskFullAfter(1000, ws);
  RemoteVmProperties p;
  absl::Status status = StoreCredentials(ws, "vm", credentials, p, &faults);
  EXPECT_EQ(core::ErrnoOf(status), ENOSPC);
  EXPECT_THAT(status.message(), HasSubstr("No space left on device"));
  EXPECT_FALSE(fs::exists(ws + "/ssh/vm")) << "nothing left behind";

  faults.Clear();
  const std::string key_file = Write("key", std::string(3000, 'k'));
  faults.FailReads(key_file);
  auto secret = ReadSecretFile(key_file, "private key file", &faults);
  EXPECT_EQ(secret.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(secret.status().message(),
            "cannot read private key file " + key_file + ": Input/output error");
}

TEST_F(RemoteVmTest, SecretFilesLoseOneTrailingNewline) {
  EXPECT_EQ(ReadSecretFile(Write("a", "pw\n"), "password file").value(), "pw");
  EXPECT_EQ(ReadSecretFile(Write("b", "pw \n\n"), "password file").value(), "pw \n");
  auto missing = ReadSecretFile(dir_ + "/none", "password file");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr("cannot read password file " + dir_ + "/none"));
}

TEST(ShellQuoteTest, QuotesEverythingTheShellWouldInterpret) {
  EXPECT_EQ(ShellQuote("plain"), "'plain'");
  EXPECT_EQ(ShellQuote("a b;$(rm -rf x)"), "'a b;$(rm -rf x)'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote(""), "''");
}

TEST_F(RemoteVmTest, RefusedConnectionIsUnavailable) {
  // A port nothing listens on: bind one, then close it.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  SshEndpoint e;
  e.host = "127.0.0.1";
  e.port = ntohs(addr.sin_port);
  e.username = "nobody";
  e.password_file = Write("pw", "x");
  e.known_hosts_file = dir_ + "/known_hosts";
  auto s = SshSession::Connect(e);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.status().message(),
              HasSubstr("cannot reach 127.0.0.1:" + std::to_string(e.port) + " over SSH"));
}

TEST_F(RemoteVmTest, ProviderRefusesLoopbackControllerForARemoteHost) {
  SshNodeProviderOptions o;
  o.workspace_dir = dir_;
  o.server_address = "127.0.0.1:7070";
  o.token = "t";
  SshNodeProvider provider(o);
  RemoteVmProperties p;
  p.address = "10.1.2.3";
  p.username = "u";
  p.auth = "password";
  p.password_file = "ssh/vm/password";
  core::ComputeTarget t;
  t.name = "vm";
  t.type = "remotevm";
  t.provider = "ssh";
  t.properties_json = RemoteVmPropertiesJson(p);
  auto started = provider.StartNode(t);
  EXPECT_EQ(started.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(started.status().message(), HasSubstr("--listen"));
  EXPECT_EQ(provider.LiveNodes("vm"), 0);
}

}  // namespace
}  // namespace sweep::compute
