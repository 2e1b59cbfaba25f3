// Issue 11, the security half, driven like a user would: a spec byte that is not UTF-8,
// a trial whose stderr is cut inside a character, and a TLS server with its workers,
// `sweep submit` and queries (a client without the CA or the token is refused).
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"

namespace sweep::e2e {
namespace {

constexpr int kPatienceS = 300;

// Fault 1: `sweep validate` accepted `values: ["caf\xE9"]` and `sweep run` then aborted.
TEST(SecureE2E, SpecByteThatIsNotUtf8IsRefusedByValidateAndRun) {
  TempDir dir;
  std::string spec = dir.Write("bad.yml",
                               "type: sweep\n"
                               "trial:\n"
                               "  command: echo acc=1 ${{search_space.m}}\n"
                               "compute: cpu-cluster\n"
                               "sampling_algorithm: grid\n"
                               "search_space:\n"
                               "  m: {type: choice, values: [\"caf\xE9\"]}\n"
                               "objective: {primary_metric: acc, goal: maximize}\n");
  CommandResult validate = RunSweep({"validate", spec});
  EXPECT_EQ(validate.exit_code, 2) << validate.out << validate.err;
  EXPECT_NE(validate.err.find("search_space.m.values[0]"), std::string::npos) << validate.err;
  EXPECT_NE(validate.err.find("not valid UTF-8 (byte 0xE9"), std::string::npos) << validate.err;
  std::string ws = dir.path() + "/ws";
  CommandResult run = RunSweep({"run", spec, "--workspace", ws, "-q"});
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_NE(run.err.find("not valid UTF-8"), std::string::npos) << run.err;
}

// Fault 2: stderr cut inside a UTF-8 character made the completion invalid on the wire;
// the trial ended "node lost" and its exit code and stderr were lost.
TEST(SecureE2E, StderrCutInsideACharacterKeepsTheFailure) {
  TempDir dir;
  dir.Write("code/fail.py",
            "import sys\n"
            "sys.stderr.write('a' + '\\u00e9' * 600 + '\\n')\n"
            "sys.stderr.flush()\n"
            "sys.exit(3)\n");
  std::string spec = dir.Write("fail.yml",
                               "type: sweep\n"
                               "trial:\n"
                               "  code: code\n"
                               "  command: python3 fail.py\n"
                               "compute: cpu-cluster\n"
                               "sampling_algorithm: grid\n"
                               "search_space:\n"
                               "  x: {type: choice, values: [1]}\n"
                               "objective: {primary_metric: acc, goal: maximize}\n"
                               "limits: {max_total_trials: 1}\n");
  std::string ws = dir.path() + "/ws";
  CommandResult run =
      RunSweep({"run", spec, "--workspace", ws, "-q", "--lease-seconds", "3"}, kPatienceS);
  ASSERT_EQ(run.exit_code, 1) << run.out << run.err;
  std::string id = run.out.substr(0, run.out.find('\n'));
  ASSERT_EQ(id.rfind("sw-", 0), 0u) << run.out;
  nlohmann::json trials = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
  ASSERT_EQ(trials.size(), 1u);
  const nlohmann::json& t = trials[0];
  EXPECT_EQ(t["state"], "failed") << t.dump();
  EXPECT_EQ(t["attempts"], 1) << t.dump();
  std::string reason = t["reason"];
  EXPECT_NE(reason.find("code 3"), std::string::npos) << reason;
  EXPECT_NE(reason.find("a\u00e9\u00e9\u00e9"), std::string::npos) << reason;
  EXPECT_EQ(reason.find("node lost"), std::string::npos) << reason;
}

// Fault 7: a TLS controller; its workers, `sweep submit` and queries verify it with the
// CA; a client without the CA, or with the wrong token, is refused.
class TlsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string d = dir_.path();
    dir_.Write("ext.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
             {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/ca.key",
              "-out", d + "/ca.pem", "-days", "1", "-subj", "/CN=sweep-test-ca"},
             {"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/server.key",
              "-out", d + "/server.csr", "-subj", "/CN=localhost"},
             {"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey",
              d + "/ca.key", "-CAcreateserial", "-out", d + "/server.pem", "-days", "1", "-extfile",
              d + "/ext.cnf"}}) {
      CommandResult r = RunCommand(argv);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    ca_ = d + "/ca.pem";
  }
  TempDir dir_;
  std::string ca_;
};

TEST_F(TlsE2E, SweepRunsOverTlsAndClientsWithoutCaOrTokenAreRefused) {
  const std::string d = dir_.path();
  const std::string ws = d + "/ws";
  BackgroundSweep server({"server", "--listen", "127.0.0.1:0", "--json", "--workspace", ws,
                          "--tls-cert", d + "/server.pem", "--tls-key", d + "/server.key",
                          "--tls-ca", ca_});
  nlohmann::json banner = nlohmann::json::parse(server.WaitFirstLine(kPatienceS), nullptr, false);
  ASSERT_FALSE(banner.is_discarded());
  const std::string address = banner["address"];
  const std::string token = ws + "/token";
  // An extra worker started by hand, as on a cluster node.
  BackgroundSweep worker({"worker", "--server", address, "--compute", "cpu-cluster", "--token-file",
                          token, "--tls-ca", ca_, "--work-dir", d + "/node", "--max-idle-polls",
                          "3"});
  // Registered over TLS before any sweep exists (so before the server starts a local worker),
  // it is polling when the trials arrive.
  ASSERT_TRUE(WaitFor(
      [&] {
        CommandResult show = RunSweep({"compute", "show", "cpu-cluster", "--json", "--server",
                                       address, "--token-file", token, "--tls-ca", ca_});
        nlohmann::json j = nlohmann::json::parse(show.out, nullptr, false);
        return show.exit_code == 0 && !j.is_discarded() && !j["nodes"].empty();
      },
      kPatienceS))
      << "the worker started by hand did not register over TLS";
  std::string spec = dir_.Write("tls.yml",
                                "type: sweep\n"
                                "trial:\n"
                                "  command: sh -c 'sleep 1; echo acc=${{search_space.x}}'\n"
                                "compute: cpu-cluster\n"
                                "sampling_algorithm: grid\n"
                                "search_space:\n"
                                "  x: {type: choice, values: [1, 2, 3, 4]}\n"
                                "objective: {primary_metric: acc, goal: maximize}\n");
  CommandResult submit =
      RunSweep({"submit", spec, "--server", address, "--token-file", token, "--tls-ca", ca_});
  ASSERT_EQ(submit.exit_code, 0) << submit.out << submit.err;
  std::string id = submit.out.substr(0, submit.out.find('\n'));
  ASSERT_EQ(id.rfind("sw-", 0), 0u) << submit.out;
  ASSERT_TRUE(WaitFor(
      [&] {
        CommandResult show = RunSweep(
            {"show", id, "--json", "--server", address, "--token-file", token, "--tls-ca", ca_});
        nlohmann::json j = nlohmann::json::parse(show.out, nullptr, false);
        return show.exit_code == 0 && !j.is_discarded() && j["state"] == "completed";
      },
      kPatienceS));
  CommandResult best =
      RunSweep({"best", id, "--json", "--server", address, "--token-file", token, "--tls-ca", ca_});
  EXPECT_EQ(best.exit_code, 0) << best.err;

  // Without the CA: the TLS handshake fails, nothing is answered.
  CommandResult no_ca = RunSweep({"ls", "--server", address, "--token-file", token});
  EXPECT_NE(no_ca.exit_code, 0);
  EXPECT_NE(no_ca.err.find("cannot reach"), std::string::npos) << no_ca.err;
  // With the CA but another token: refused.
  std::string wrong = dir_.Write("wrong-token", "not-the-token\n");
  std::filesystem::permissions(
      wrong, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  CommandResult no_token =
      RunSweep({"ls", "--server", address, "--token-file", wrong, "--tls-ca", ca_});
  EXPECT_NE(no_token.exit_code, 0);
  EXPECT_NE(no_token.err.find("token"), std::string::npos) << no_token.err;
  // The worker started by hand completed trials over TLS (its log says so), and ended on
  // its own once idle.
  CommandResult worker_done = worker.Wait(kPatienceS);
  EXPECT_EQ(worker_done.exit_code, 0) << worker_done.err;
  EXPECT_NE((worker_done.out + worker_done.err).find("; trial completed"), std::string::npos)
      << "the worker started by hand completed no trial:\n"
      << worker_done.out << worker_done.err;
  server.Signal(SIGTERM);
  CommandResult stopped = server.Wait(kPatienceS);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
}

}  // namespace
}  // namespace sweep::e2e
