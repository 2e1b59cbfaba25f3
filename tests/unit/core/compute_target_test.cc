#include "core/compute_target.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sweep::core {
namespace {

using ::testing::HasSubstr;

core::ComputeTarget Target(const std::string& name = "cpu-cluster") {
  core::ComputeTarget t;
  t.name = name;
  t.type = "amlcompute";
  t.provider = "local";
  t.min_nodes = 0;
  t.max_nodes = 4;
  return t;
}

TEST(ComputeNameTest, AcceptsValidNames) {
  for (const char* n : {"ab", "cpu-cluster", "A1", "gpu-cluster-0123"}) {
    EXPECT_TRUE(ValidateComputeName(n).ok()) << n;
  }
}

TEST(ComputeNameTest, RejectsWithReasons) {
  EXPECT_EQ(ValidateComputeName("a").message(),
            "compute name 'a' must be 2-16 characters long (it has 1)");
  EXPECT_EQ(ValidateComputeName("a234567890123456x").message(),
            "compute name 'a234567890123456x' must be 2-16 characters long (it has 17)");
  EXPECT_EQ(ValidateComputeName("1cluster").message(),
            "compute name '1cluster' must start with a letter");
  EXPECT_EQ(ValidateComputeName("-cluster").message(),
            "compute name '-cluster' must start with a letter");
  EXPECT_EQ(ValidateComputeName("cpu_cluster").message(),
            "compute name 'cpu_cluster' may contain only letters, digits and '-' (found '_')");
  EXPECT_EQ(ValidateComputeName("cpu_cluster").code(), absl::StatusCode::kInvalidArgument);
}

TEST(ComputeTargetTest, AcceptsPersistentTargets) {
  EXPECT_TRUE(ValidateComputeTarget(Target()).ok());
  core::ComputeTarget slurm = Target("hpc");
  slurm.provider = "slurm";
  slurm.properties_json = R"({"partition": "gpu"})";
  slurm.vm_size = "Standard_NC6";  // a slurm target needs a known vm_size
  EXPECT_TRUE(ValidateComputeTarget(slurm).ok());
  core::ComputeTarget vm = Target("box");
  vm.type = "remotevm";
  vm.provider = "ssh";
  EXPECT_TRUE(ValidateComputeTarget(vm).ok());
  core::ComputeTarget low = Target();
  low.vm_priority = "lowpriority";
  EXPECT_TRUE(ValidateComputeTarget(low).ok());
}

TEST(ComputeTargetTest, RefusesTargetsThatCannotHostSweeps) {
  core::ComputeTarget t = Target("laptop");
  t.type = "local";
  absl::Status s = ValidateComputeTarget(t);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("type 'local' runs on the submitting machine only and is "
                                     "not a persistent target"));
  EXPECT_THAT(s.message(), HasSubstr("`sweep compute create laptop --type amlcompute "
                                     "--min-nodes 0 --max-nodes 4`"));
  for (const char* type : {"databricks", "adla", "hdinsight"}) {
    t.type = type;
    s = ValidateComputeTarget(t);
    EXPECT_THAT(s.message(), HasSubstr(std::string("type '") + type +
                                       "' does not support hyperparameter sweeps"))
        << type;
    EXPECT_THAT(s.message(), HasSubstr("sweep compute create")) << type;
  }
  t.type = "kubernetes";
  EXPECT_EQ(ValidateComputeTarget(t).message(),
            "compute 'laptop': unknown type 'kubernetes' (expected amlcompute or remotevm)");
}

TEST(ComputeTargetTest, ChecksProvidersCountsAndPriority) {
  core::ComputeTarget t = Target();
  t.provider = "k8s";
  EXPECT_EQ(ValidateComputeTarget(t).message(),
            "compute 'cpu-cluster': unknown node provider 'k8s' for amlcompute (expected local "
            "or slurm)");
  t = Target("box");
  t.type = "remotevm";
  EXPECT_EQ(ValidateComputeTarget(t).message(),
            "compute 'box': remotevm targets are reached over SSH, so the provider must be "
            "'ssh' (got 'local')");
  t = Target();
  t.min_nodes = -1;
  EXPECT_EQ(ValidateComputeTarget(t).message(),
            "compute 'cpu-cluster': min_nodes must be >= 0 (got -1)");
  t = Target();
  t.max_nodes = 0;
  EXPECT_EQ(ValidateComputeTarget(t).message(),
            "compute 'cpu-cluster': max_nodes must be >= 1 (got 0)");
  t = Target();
  t.max_nodes = 10'001;
  EXPECT_EQ(ValidateComputeTarget(t).message(),
            "compute 'cpu-cluster': max_nodes must be <= 10000 (got 10001)");
  t = Target();
  t.min_nodes = 5;
  EXPECT_EQ(ValidateComputeTarget(t).message(),
            "compute 'cpu-cluster': min_nodes (5) must not exceed max_nodes (4)");
  t = Target();
  t.vm_priority = "spot";
  EXPECT_EQ(ValidateComputeTarget(t).message(),
            "compute 'cpu-cluster': vm_priority must be dedicated or lowpriority (got 'spot')");
  t = Target();
  t.idle_seconds_before_scaledown = -5;
  EXPECT_EQ(ValidateComputeTarget(t).message(),
            "compute 'cpu-cluster': idle_seconds_before_scaledown must be >= 0 (got -5)");
  t = Target();
  t.properties_json = "[1]";
  EXPECT_EQ(ValidateComputeTarget(t).message(),
            "compute 'cpu-cluster': properties must be a JSON object (got '[1]')");
  t.properties_json = "{nope";
  EXPECT_THAT(ValidateComputeTarget(t).message(),
              HasSubstr("compute 'cpu-cluster': properties are not valid JSON: "));
  t = Target("x");
  EXPECT_THAT(ValidateComputeTarget(t).message(), HasSubstr("must be 2-16 characters"));
}

TEST(ComputeTargetTest, PropertiesParseAndMergeKeepingOtherKeys) {
  ComputeTarget t = Target();
  t.properties_json = "";
  auto empty = ParseTargetProperties(t);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, nlohmann::json::object());
  t.properties_json = R"({"partition":"p","other":1})";
  MergeTargetProperties({{"partition", nullptr}, {"qos", "q"}}, t);
  EXPECT_EQ(t.properties_json, R"({"other":1,"qos":"q"})");
  auto props = ParseTargetProperties(t);
  ASSERT_TRUE(props.ok()) << props.status();
  EXPECT_EQ((*props)["qos"], "q");
  t.properties_json = "[1]";
  EXPECT_EQ(ParseTargetProperties(t).status().message(),
            "compute 'cpu-cluster': properties must be a JSON object (got '[1]')");
  MergeTargetProperties({{"qos", "q"}}, t);  // unreadable properties start over
  EXPECT_EQ(t.properties_json, R"({"qos":"q"})");
}

}  // namespace
}  // namespace sweep::core
