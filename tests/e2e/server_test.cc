// `sweep server`, `sweep submit` and queries with --server, driven like a user would:
// two sweeps sharing one cluster, the same answers as from the workspace, a clean
// SIGTERM, and clear errors for every bad input.
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/test_process.h"

namespace sweep::e2e {
namespace {

namespace fs = std::filesystem;

// How long a step may take before the test gives up: far beyond what any step needs on
// an idle machine, so only a hang, not a loaded machine, uses it up.
constexpr int kPatienceS = 300;

// Each trial appends "SWEEP_ID TRIAL START END" to a log, so the test can see when trials
// of each sweep really ran. With a gate directory, a trial says it started (the file
// <gate>/started-SWEEP-TRIAL) and waits (up to 600 s) until the test opens its gate, the
// file <gate>/<x> or <gate>/all, before its pause: the test, not the clock, decides when
// trials may end.
std::string WriteTrainScript(const TempDir& dir) {
  return dir.Write("code/train.py",
                   "import os, sys, time\n"
                   "log, x, pause = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])\n"
                   "gate = sys.argv[4] if len(sys.argv) > 4 else ''\n"
                   "start = time.time()\n"
                   "if gate:\n"
                   "    sweep, trial = os.environ['SWEEP_ID'], os.environ['SWEEP_TRIAL_ID']\n"
                   "    open(os.path.join(gate, f'started-{sweep}-{trial}'), 'w').close()\n"
                   "while gate and time.time() < start + 600 and not any(\n"
                   "        os.path.exists(os.path.join(gate, g)) for g in (sys.argv[2], 'all')):\n"
                   "    time.sleep(0.05)\n"
                   "time.sleep(pause)\n"
                   "print('loss=nan', flush=True)\n"
                   "print('gap=inf', flush=True)\n"
                   "print(f'accuracy={x}', flush=True)\n"
                   "end = time.time()\n"
                   "with open(log, 'a') as f:\n"
                   "    f.write(f\"{os.environ['SWEEP_ID']} {os.environ['SWEEP_TRIAL_ID']} "
                   "{start} {end}\\n\")\n");
}

// Opens the gate `name` ("all" or a value of x) of the trials waiting on `gate_dir`.
void OpenGate(const std::string& gate_dir, const std::string& name) {
  std::ofstream(gate_dir + "/" + name) << "open\n";
}

// Whether a trial of sweep `id` has started (and waits at the gate, unless it is open).
bool StartedAtGate(const std::string& gate_dir, const std::string& id) {
  for (const auto& entry : fs::directory_iterator(gate_dir)) {
    if (entry.path().filename().string().rfind("started-" + id + "-", 0) == 0) return true;
  }
  return false;
}

std::string Spec(const TempDir& dir, const std::string& name, const std::string& compute,
                 const std::string& values, int max_concurrent, double pause = 1.5,
                 const std::string& gate_dir = "") {
  std::ostringstream out;
  out << "type: sweep\n"
      << "trial:\n"
      << "  code: code\n"
      << "  command: python3 train.py " << dir.path() << "/trials.log ${{search_space.x}} " << pause
      << (gate_dir.empty() ? "" : " " + gate_dir) << "\n"
      << "compute: azureml:" << compute << "\n"
      << "sampling_algorithm: grid\n"
      << "search_space:\n"
      << "  x: {type: choice, values: [" << values << "]}\n"
      << "objective: {primary_metric: accuracy, goal: maximize}\n"
      << "limits: {max_total_trials: 10, max_concurrent_trials: " << max_concurrent << "}\n";
  return dir.Write(name, out.str());
}

struct Span {
  double start, end;
};

// Most spans of `spans` running at one instant.
int MaxOverlap(const std::vector<Span>& spans) {
  std::vector<std::pair<double, int>> edges;
  for (const Span& s : spans) {
    edges.push_back({s.start, +1});
    edges.push_back({s.end, -1});
  }
  std::sort(edges.begin(), edges.end());  // an end sorts before a start at the same time
  int now = 0, most = 0;
  for (const auto& [t, d] : edges) most = std::max(most, now += d);
  return most;
}

TEST(ServerE2E, TwoSubmittedSweepsShareOneClusterAndQueriesMatchTheWorkspace) {
  TempDir dir;
  WriteTrainScript(dir);
  const std::string ws = dir.path() + "/ws";
  ASSERT_EQ(
      RunSweep({"compute", "create", "shared", "--max-nodes", "2", "--workspace", ws}).exit_code,
      0);
  ServerProcess server(ws);
  ASSERT_FALSE(server.address().empty()) << "the server prints its address first";
  EXPECT_TRUE(fs::exists(ws + "/controller.json"));

  // Every trial waits at the gate until the test has seen both sweeps running at once.
  const std::string gate = dir.path() + "/gate";
  fs::create_directories(gate);
  CommandResult a =
      server.Run({"submit", Spec(dir, "a.yml", "shared", "0.1, 0.2, 0.3, 0.4", 1, 0.5, gate)});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  CommandResult b = server.Run(
      {"submit", Spec(dir, "b.yml", "shared", "0.5, 0.6, 0.7, 0.8", 2, 0.5, gate), "--json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const std::string id_a = a.out.substr(0, a.out.find('\n'));
  const std::string id_b = ParseJson(b)["id"];
  ASSERT_EQ(id_a.rfind("sw-", 0), 0u) << a.out;
  ASSERT_EQ(id_b.rfind("sw-", 0), 0u) << b.out;

  // While they run: nodes with their trials, and the scaling decisions with reasons.
  // (The first sweep may scale the cluster to 1 node before the second one arrives.)
  auto reasoned_scale_up = [](const nlohmann::json& shown) {
    for (const auto& e : shown["scaling_decisions"]) {
      std::string m = e["message"];
      if (e["kind"] == "scale_up" && m.find("trials waiting in") != std::string::npos &&
          m.find("(desired 2, max 2)") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  auto busy_node = [](const nlohmann::json& shown) {
    for (const auto& n : shown["nodes"]) {
      if (n["state"] == "busy" && n["trial_id"].is_number()) return true;
    }
    return false;
  };
  nlohmann::json shown;
  EXPECT_TRUE(WaitFor(
      [&] {
        CommandResult r = server.Run({"compute", "show", "shared", "--json"});
        if (r.exit_code != 0) return false;
        shown = nlohmann::json::parse(r.out, nullptr, false);
        return !shown.is_discarded() && busy_node(shown) && reasoned_scale_up(shown) &&
               shown["desired_nodes"] == 2;  // demand 1 + 2, capped by max_nodes 2
      },
      kPatienceS))
      << shown.dump(2);
  EXPECT_EQ(shown["controller_running"], true);
  EXPECT_LE(shown["live_nodes"].get<int>(), 2);
  CommandResult text = server.Run({"compute", "show", "shared"});
  EXPECT_NE(text.out.find("autoscaler  desired 2 nodes"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("recent scaling decisions"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("scale_up: compute shared: "), std::string::npos) << text.out;

  // Fair share: with sweep a at its limit of 1, the second node runs a trial of sweep b;
  // both trial processes run, held at the gate, before the test lets them end.
  EXPECT_TRUE(
      WaitFor([&] { return StartedAtGate(gate, id_a) && StartedAtGate(gate, id_b); }, kPatienceS))
      << server.Run({"ls"}).out;
  OpenGate(gate, "all");

  ASSERT_TRUE(WaitFor(
      [&] {
        CommandResult ls = server.Run({"ls", "--json"});
        nlohmann::json list = nlohmann::json::parse(ls.out, nullptr, false);
        if (list.is_discarded() || list.size() != 2) return false;
        return list[0]["state"] == "completed" && list[1]["state"] == "completed";
      },
      kPatienceS))
      << server.Run({"ls"}).out;

  // From the trials' own clocks: every trial ran, no sweep above its limit, and the two
  // sweeps ran side by side on the shared nodes.
  std::map<std::string, std::vector<Span>> spans;
  std::ifstream log(dir.path() + "/trials.log");
  std::string sweep_id;
  int64_t trial;
  Span span;
  while (log >> sweep_id >> trial >> span.start >> span.end) spans[sweep_id].push_back(span);
  ASSERT_EQ(spans[id_a].size(), 4u);
  ASSERT_EQ(spans[id_b].size(), 4u);
  EXPECT_EQ(MaxOverlap(spans[id_a]), 1) << "max_concurrent_trials 1";
  EXPECT_LE(MaxOverlap(spans[id_b]), 2) << "max_concurrent_trials 2";
  std::vector<Span> both = spans[id_a];
  both.insert(both.end(), spans[id_b].begin(), spans[id_b].end());
  EXPECT_LE(MaxOverlap(both), 2) << "the cluster has 2 nodes";
  EXPECT_EQ(MaxOverlap(both), 2) << "the sweeps must interleave, not run one after the other";

  // The same answers through the server as from the workspace, byte for byte.
  ASSERT_EQ(
      RunSweep({"environment", "create", "e2e-env", "--user-managed", "--workspace", ws}).exit_code,
      0);
  const std::vector<std::vector<std::string>> queries = {
      {"environment", "list", "--json"},
      {"environment", "show", "e2e-env@latest"},
      {"models", "list", "--json"},
      {"ls", "--json"},
      {"show", id_a, "--json"},
      {"show", id_b.substr(0, 8)},
      {"trials", id_a, "--json"},
      {"trials", id_b, "--csv", "--sort", "accuracy"},
      {"best", id_b, "--json"},
      {"metrics", id_a, "2", "--json"},
      {"metrics", id_b, "1"},
      {"explain", id_a, "1", "--json"},
      {"compute", "list", "--json"},
  };
  for (const auto& q : queries) {
    CommandResult remote = server.Run(q);
    std::vector<std::string> local_args = q;
    local_args.insert(local_args.end(), {"--workspace", ws});
    CommandResult local = RunSweep(local_args);
    EXPECT_EQ(remote.exit_code, local.exit_code) << q[0] << " " << remote.err;
    EXPECT_EQ(remote.out, local.out) << q[0] << " " << q[1];
    EXPECT_EQ(remote.err, local.err) << q[0] << " " << q[1];
  }
  nlohmann::json points = ParseJson(server.Run({"metrics", id_a, "1", "--json"}));
  std::map<std::string, std::string> special;
  for (const auto& p : points) {
    if (p["value"].is_string()) special[p["name"]] = p["value"];
  }
  EXPECT_EQ(special["loss"], "nan") << points.dump();
  EXPECT_EQ(special["gap"], "inf") << points.dump();

  CommandResult stopped = server.Stop();
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_FALSE(fs::exists(ws + "/controller.json"));
  EXPECT_TRUE(FindWorkers(ws).empty()) << "SIGTERM must stop every node it started";
  // Without a controller, compute show says so and lists no live autoscaler state.
  nlohmann::json after =
      ParseJson(RunSweep({"compute", "show", "shared", "--json", "--workspace", ws}));
  EXPECT_EQ(after["controller_running"], false);
  EXPECT_TRUE(after["desired_nodes"].is_null());
  EXPECT_FALSE(after["scaling_decisions"].empty()) << "past decisions stay visible";
}

TEST(ServerE2E, SigtermStopsRunningWorkersAndCancelWorksThroughTheServer) {
  TempDir dir;
  WriteTrainScript(dir);
  const std::string ws = dir.path() + "/ws";
  ServerProcess server(ws);
  ASSERT_FALSE(server.address().empty());
  CommandResult submitted =
      server.Run({"submit", Spec(dir, "long.yml", "cpu-cluster", "1, 2, 3", 2, 600)});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  std::string id = submitted.out.substr(0, submitted.out.find('\n'));
  ASSERT_TRUE(WaitFor([&] { return !FindWorkers(ws).empty(); }, 60));
  ASSERT_TRUE(WaitFor(
      [&] {
        nlohmann::json s =
            nlohmann::json::parse(server.Run({"show", id, "--json"}).out, nullptr, false);
        return !s.is_discarded() && s["trials"]["running"].get<int>() > 0;
      },
      60));

  CommandResult cancel = server.Run({"cancel", id.substr(0, 9)});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_EQ(cancel.out, "canceled " + id + "\n");
  nlohmann::json s = ParseJson(server.Run({"show", id, "--json"}));
  EXPECT_EQ(s["state"], "canceled");
  CommandResult again = server.Run({"cancel", id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already ended (canceled)"), std::string::npos) << again.err;

  // A second, long sweep keeps nodes busy; SIGTERM must still leave no worker behind.
  ASSERT_EQ(server.Run({"submit", Spec(dir, "long2.yml", "cpu-cluster", "4, 5", 2, 600)}).exit_code,
            0);
  ASSERT_TRUE(WaitFor([&] { return !FindWorkers(ws).empty(); }, 60));
  CommandResult stopped = server.Stop();
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_TRUE(FindWorkers(ws).empty());
  EXPECT_FALSE(fs::exists(ws + "/controller.json"));
}

TEST(ServerE2E, ARestartedServerResumesTheWorkspacesRunningSweeps) {
  TempDir dir;
  WriteTrainScript(dir);
  const std::string ws = dir.path() + "/ws";
  // Only trial x=1 may finish under the first server; the others wait at their gates.
  const std::string gate = dir.path() + "/gate";
  fs::create_directories(gate);
  OpenGate(gate, "1");
  std::string id;
  {
    ServerProcess first(ws);
    ASSERT_FALSE(first.address().empty());
    CommandResult submitted =
        first.Run({"submit", Spec(dir, "r.yml", "cpu-cluster", "1, 2, 3, 4", 1, 0.2, gate)});
    ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
    id = submitted.out.substr(0, submitted.out.find('\n'));
    ASSERT_TRUE(WaitFor(
        [&] {
          nlohmann::json s =
              nlohmann::json::parse(first.Run({"show", id, "--json"}).out, nullptr, false);
          return !s.is_discarded() && s["trials"]["completed"].get<int>() >= 1;
        },
        kPatienceS));
    ASSERT_EQ(first.Stop().exit_code, 0);
  }
  nlohmann::json paused = ParseJson(RunSweep({"show", id, "--json", "--workspace", ws}));
  ASSERT_EQ(paused["state"], "running") << "stopping the server does not end its sweeps";
  ASSERT_EQ(paused["trials"]["completed"].get<int>(), 1);

  OpenGate(gate, "all");
  ServerProcess second(ws);
  ASSERT_FALSE(second.address().empty());
  EXPECT_TRUE(WaitFor(
      [&] {
        nlohmann::json s =
            nlohmann::json::parse(second.Run({"show", id, "--json"}).out, nullptr, false);
        return !s.is_discarded() && s["state"] == "completed";
      },
      kPatienceS))
      << second.Run({"show", id}).out;
  nlohmann::json trials = ParseJson(second.Run({"trials", id, "--json"}));
  EXPECT_EQ(trials.size(), 4u);
  for (const auto& t : trials) EXPECT_EQ(t["state"], "completed") << t.dump();
  EXPECT_EQ(second.Stop().exit_code, 0);
}

// The server's own workers stopped gracefully: each stopped its trial's whole process
// group and reported the attempt, so nothing outlives the server and a restart re-leases
// at once. (They used to get SIGKILL first, when the thread that started them ended:
// a trial's children kept running and its lease had to expire, 30 s, after a restart.)
TEST(ServerE2E, StoppingTheServerEndsTrialsWithTheirChildrenAndReleasesTheirLeases) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  const std::string pids = dir.path() + "/pids";
  fs::create_directories(pids);
  // Each trial's shell starts a child and records its pid, then waits for it.
  std::string spec = dir.Write("children.yml",
                               "type: sweep\n"
                               "trial:\n"
                               "  command: sh -c 'sleep 300 & echo $! > " +
                                   pids + "/${{search_space.x}}; wait'\n"
                                   "compute: cpu-cluster\n"
                                   "sampling_algorithm: grid\n"
                                   "search_space:\n"
                                   "  x: {type: choice, values: [1, 2]}\n"
                                   "objective: {primary_metric: acc, goal: maximize}\n"
                                   "limits: {max_concurrent_trials: 2}\n");
  ServerProcess server(ws);
  ASSERT_FALSE(server.address().empty());
  CommandResult submitted = server.Run({"submit", spec});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  const std::string id = submitted.out.substr(0, submitted.out.find('\n'));
  std::vector<pid_t> children;
  ASSERT_TRUE(WaitFor(
      [&] {
        children.clear();
        for (const char* x : {"1", "2"}) {
          std::ifstream in(pids + "/" + x);
          pid_t pid = 0;
          if (in >> pid && pid > 0) children.push_back(pid);
        }
        return children.size() == 2;
      },
      kPatienceS));
  ASSERT_EQ(server.Stop().exit_code, 0);
  // Alive: not exited, and not a zombie (whoever reaps orphans here may be slow to).
  for (pid_t pid : children) {
    EXPECT_TRUE(WaitFor([&] { return !testutil::ProcessAlive(pid); }, 10))
        << "a trial's child (pid " << pid << ") outlived the server";
    if (testutil::ProcessAlive(pid)) kill(pid, SIGKILL);
  }
  nlohmann::json s = ParseJson(RunSweep({"show", id, "--json", "--workspace", ws}));
  EXPECT_EQ(s["state"], "running") << "stopping the server does not end its sweeps";
  EXPECT_EQ(s["trials"]["running"], 0) << s.dump();
  EXPECT_EQ(s["trials"]["pending"], 2) << s.dump();
  // Their table says so too: pending, with no duration (they are not running).
  CommandResult table = RunSweep({"trials", id, "--workspace", ws});
  EXPECT_EQ(table.out.find("running"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("pending"), std::string::npos) << table.out;
}

TEST(ServerE2E, BadInputsGetClearMessagesAndChangeNothing) {
  TempDir dir;
  WriteTrainScript(dir);
  const std::string ws = dir.path() + "/ws";
  const std::string good = Spec(dir, "good.yml", "cpu-cluster", "1", 1);
  ServerProcess server(ws);
  ASSERT_FALSE(server.address().empty());

  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::string wrong_token = dir.Write("wrong-token", "not-the-token\n");
  const std::string invalid = dir.Write("invalid.yml",
                                        "type: sweep\n"
                                        "trial: {command: python3 x.py}\n"
                                        "compute: azureml:cpu-cluster\n"
                                        "search_space: {x: {type: choice, values: [1]}}\n"
                                        "objective: {primary_metric: acc, goal: maximise}\n");
  const std::string tok = ws + "/token";
  const std::vector<Case> cases = {
      {{"server", "--listen", "127.0.0.1:0", "--workspace", ws},
       1,
       "is already served by a controller"},
      {{"server", "--listen", "nohost", "--workspace", dir.path() + "/other"},
       2,
       "--listen 'nohost' is not a valid address"},
      {{"submit", good, "--server", "127.0.0.1:1", "--token-file", tok},
       1,
       "cannot reach the sweep server at 127.0.0.1:1"},
      {{"ls", "--server", "127.0.0.1:1", "--token-file", tok},
       1,
       "cannot reach the sweep server at 127.0.0.1:1"},
      {{"submit", good, "--server", server.address(), "--token-file", wrong_token},
       1,
       "rejected the token"},
      {{"trials", "sw-1", "--server", server.address(), "--token-file", wrong_token},
       1,
       "rejected the token"},
      {{"submit", good, "--server", server.address(), "--token-file", dir.path() + "/none"},
       2,
       "cannot read token file"},
      {{"submit", invalid, "--server", server.address(), "--token-file", tok}, 2, invalid + ":5:"},
      {{"submit", Spec(dir, "nope.yml", "nope", "1", 1), "--server", server.address(),
        "--token-file", tok},
       2,
       "compute target 'nope' not found"},
      {{"submit", good, "--server", "localhost", "--token-file", tok},
       2,
       "--server 'localhost' is not a valid address"},
      {{"show", "sw-1", "--server", "127.0.0.1:notaport", "--token-file", tok},
       2,
       "the port must be a number"},
      {{"compute", "show", "nope", "--server", server.address(), "--token-file", tok},
       1,
       "compute target 'nope' not found"},
      {{"submit", good}, 2, "--server is required"},
  };
  for (const Case& c : cases) {
    CommandResult r = RunSweep(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args[0] << " " << c.args[1] << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos)
        << c.args[0] << " " << c.args[1] << ": expected '" << c.message << "' in:\n"
        << r.err;
  }
  // The token's other sources: $SWEEP_TOKEN_FILE, else <workspace>/token.
  CommandResult env_wrong = RunCommand({"env", "SWEEP_TOKEN_FILE=" + wrong_token, SweepBinary(),
                                        "ls", "--server", server.address()});
  EXPECT_EQ(env_wrong.exit_code, 1);
  EXPECT_NE(env_wrong.err.find("rejected the token"), std::string::npos) << env_wrong.err;
  CommandResult env_right = RunCommand(
      {"env", "SWEEP_TOKEN_FILE=" + tok, SweepBinary(), "ls", "--server", server.address()});
  EXPECT_EQ(env_right.exit_code, 0) << env_right.err;
  CommandResult from_ws =
      RunSweep({"ls", "--json", "--server", server.address(), "--workspace", ws});
  EXPECT_EQ(from_ws.exit_code, 0) << from_ws.err;
  EXPECT_TRUE(ParseJson(from_ws).empty()) << "no sweep may exist";
  EXPECT_FALSE(fs::exists(dir.path() + "/other")) << "a refused server creates nothing";
  CommandResult stopped = server.Stop();
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
}

}  // namespace
}  // namespace sweep::e2e
