// `sweep compute ...`: persistent targets, and the targets a sweep may not use.
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"

namespace sweep::e2e {
namespace {

TEST(ComputeE2E, NewWorkspaceHasCpuClusterAndTargetsCanBeManaged) {
  TempDir ws;
  nlohmann::json list = ParseJson(RunSweep({"compute", "list", "--json", "--workspace", ws.path()}));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "cpu-cluster");
  EXPECT_EQ(list[0]["type"], "amlcompute");
  EXPECT_EQ(list[0]["provider"], "local");
  EXPECT_EQ(list[0]["min_nodes"], 0);

  CommandResult create = RunSweep({"compute", "create", "big-1", "--type", "amlcompute",
                                   "--provider", "local", "--min-nodes", "0", "--max-nodes", "3",
                                   "--vm-size", "STANDARD_D2_V2", "--vm-priority", "lowpriority",
                                   "--idle-seconds-before-scaledown", "30", "--workspace",
                                   ws.path()});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  nlohmann::json shown =
      ParseJson(RunSweep({"compute", "show", "big-1", "--json", "--workspace", ws.path()}));
  EXPECT_EQ(shown["max_nodes"], 3);
  EXPECT_EQ(shown["vm_priority"], "lowpriority");
  EXPECT_EQ(shown["idle_seconds_before_scaledown"], 30);

  CommandResult dup = RunSweep({"compute", "create", "big-1", "--workspace", ws.path()});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_NE(dup.err.find("already exists"), std::string::npos) << dup.err;

  ASSERT_EQ(RunSweep({"compute", "update", "big-1", "--max-nodes", "5", "--workspace",
                      ws.path()}).exit_code, 0);
  shown = ParseJson(RunSweep({"compute", "show", "big-1", "--json", "--workspace", ws.path()}));
  EXPECT_EQ(shown["max_nodes"], 5);

  CommandResult bad_update = RunSweep({"compute", "update", "big-1", "--min-nodes", "9",
                                       "--workspace", ws.path()});
  EXPECT_EQ(bad_update.exit_code, 2) << "min above max";
  EXPECT_NE(bad_update.err.find("min"), std::string::npos) << bad_update.err;

  ASSERT_EQ(RunSweep({"compute", "delete", "big-1", "--workspace", ws.path()}).exit_code, 0);
  CommandResult gone = RunSweep({"compute", "show", "big-1", "--workspace", ws.path()});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("not found"), std::string::npos);
}

struct Rejection {
  std::vector<std::string> args;
  std::string message;
};

TEST(ComputeE2E, TargetsThatCannotHostASweepAreRefusedWithExitTwo) {
  TempDir ws;
  const std::vector<Rejection> cases = {
      {{"x"}, "2-16 characters"},
      {{"a-name-that-is-far-too-long"}, "2-16 characters"},
      {{"9lives"}, "start with a letter"},
      {{"bad_name"}, "letters, digits and '-'"},
      {{"loc", "--type", "local"}, "persistent"},
      {{"dbx", "--type", "databricks"}, "persistent"},
      {{"adla1", "--type", "adla"}, "persistent"},
      {{"hdi", "--type", "hdinsight"}, "persistent"},
      {{"weird", "--type", "kubernetes"}, "amlcompute"},
      {{"neg", "--max-nodes", "0"}, "max"},
      {{"prio", "--vm-priority", "spot"}, "lowpriority"},
      {{"prov", "--provider", "magic"}, "provider"},
  };
  for (const Rejection& c : cases) {
    std::vector<std::string> args{"compute", "create"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.insert(args.end(), {"--workspace", ws.path()});
    CommandResult r = RunSweep(args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos)
        << c.args[0] << ": expected '" << c.message << "' in " << r.err;
  }
  nlohmann::json list = ParseJson(RunSweep({"compute", "list", "--json", "--workspace", ws.path()}));
  EXPECT_EQ(list.size(), 1u) << "nothing but cpu-cluster may exist: " << list.dump();
}

}  // namespace
}  // namespace sweep::e2e
