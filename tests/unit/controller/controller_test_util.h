// Shared fixture for Controller unit tests: InMemoryStore + FakeClock, no network.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/controller.h"
#include "core/clock.h"
#include "gtest/gtest.h"
#include "spec/spec.h"
#include "store/store.h"

namespace sweep::controller::testing {

// A spec with a random sampler over (lr, model), goal maximize accuracy.
// `extra` is appended verbatim (top-level keys such as early_termination).
inline std::string SpecYaml(const std::string& limits, const std::string& extra = "",
                            const std::string& sampling = "{type: random, seed: 7}") {
  return absl::StrCat(
      "type: sweep\n"
      "trial:\n"
      "  command: python3 train.py --lr ${{search_space.lr}} --model "
      "${{search_space.model}}\n"
      "compute: azureml:cpu-cluster\n"
      "sampling_algorithm: ",
      sampling,
      "\n"
      "search_space:\n"
      "  lr: {type: uniform, min_value: 0.0, max_value: 1.0}\n"
      "  model: {type: choice, values: [svm, rf]}\n"
      "objective: {primary_metric: accuracy, goal: maximize}\n"
      "limits: ",
      limits, "\n", extra);
}

// Everything a test may compare to prove that a call changed nothing.
struct StoreSnapshot {
  std::vector<core::Trial> trials;
  std::vector<core::Attempt> attempts;
  std::vector<core::MetricPoint> metrics;
  std::vector<core::Event> events;
  std::vector<core::Decision> decisions;
  std::vector<core::Sweep> sweeps;
};

inline bool SameTrials(const std::vector<core::Trial>& a, const std::vector<core::Trial>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].trial_id != b[i].trial_id || a[i].state != b[i].state ||
        a[i].intervals != b[i].intervals || a[i].attempts != b[i].attempts ||
        a[i].retries != b[i].retries || a[i].final_value != b[i].final_value ||
        a[i].reason != b[i].reason || a[i].ended_ms != b[i].ended_ms) {
      return false;
    }
  }
  return true;
}

inline bool SameAttempts(const std::vector<core::Attempt>& a,
                         const std::vector<core::Attempt>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].trial_id != b[i].trial_id || a[i].attempt != b[i].attempt ||
        a[i].state != b[i].state || a[i].expires_ms != b[i].expires_ms ||
        a[i].fencing_token != b[i].fencing_token || a[i].ended_ms != b[i].ended_ms) {
      return false;
    }
  }
  return true;
}

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::NewInMemoryStore();
    core::ComputeTarget t;
    t.name = "cpu-cluster";
    t.type = "amlcompute";
    t.provider = "local";
    t.min_nodes = 0;
    t.max_nodes = 4;
    store::WriteBatch b;
    b.computes.push_back(t);
    ASSERT_TRUE(store_->Commit(b).ok());
    options_.clock = &clock_;
    options_.lease_duration_ms = 30'000;
    options_.max_acquire_wait_ms = 1'000;
    Restart();
  }

  void TearDown() override {
    if (controller_) controller_->Shutdown();
  }

  // A fresh controller over the same store (what a process restart does).
  void Restart() {
    if (controller_) controller_->Shutdown();
    controller_.reset();
    auto c = Controller::Create(store_.get(), options_);
    ASSERT_TRUE(c.ok()) << c.status();
    controller_ = std::move(*c);
  }

  std::string Submit(const std::string& yaml) {
    auto spec = spec::ParseSpec(yaml, "/tmp/controller-test/spec.yml", "/tmp/controller-test");
    EXPECT_TRUE(spec.ok()) << spec.status();
    if (!spec.ok()) return "";
    spec->path = "/tmp/controller-test/spec.yml";  // as LoadSpecFile would set it
    auto id = controller_->SubmitSweep(*spec, yaml);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : "";
  }

  std::string Node(const std::string& compute = "cpu-cluster") {
    NodeRegistration r;
    r.compute = compute;
    r.hostname = "test-host";
    r.pid = 1;
    auto reg = controller_->Register(r);
    EXPECT_TRUE(reg.ok()) << reg.status();
    return reg.ok() ? reg->node_id : "";
  }

  std::optional<LeaseGrant> Acquire(const std::string& node) {
    auto r = controller_->AcquireTrial(node, 0);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return std::nullopt;
    return r->lease;
  }

  absl::StatusOr<DirectiveReply> Report(const LeaseRef& ref, double value,
                                        const std::string& name = "accuracy") {
    core::MetricPoint p;
    p.name = name;
    p.value = value;
    return controller_->ReportMetrics(ref, {p});
  }

  absl::StatusOr<core::TrialState> Complete(const LeaseRef& ref,
                                            Outcome outcome = Outcome::kSucceeded,
                                            int exit_code = 0, const std::string& error = "") {
    Completion c;
    c.outcome = outcome;
    c.exit_code = exit_code;
    c.error = error;
    return controller_->CompleteTrial(ref, c);
  }

  core::Trial GetTrial(const std::string& sweep, int64_t id) {
    auto t = store_->GetTrial(sweep, id);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : core::Trial();
  }

  core::Sweep GetSweep(const std::string& sweep) {
    auto s = store_->GetSweep(sweep);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : core::Sweep();
  }

  std::vector<core::Event> Events(const std::string& sweep) {
    auto e = store_->ListEvents(sweep);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? *e : std::vector<core::Event>();
  }

  int CountEvents(const std::string& sweep, const std::string& kind) {
    int n = 0;
    for (const core::Event& e : Events(sweep)) n += e.kind == kind ? 1 : 0;
    return n;
  }

  StoreSnapshot Snapshot(const std::string& sweep) {
    StoreSnapshot s;
    s.trials = store_->ListTrials(sweep).value();
    s.attempts = store_->ListAttempts(sweep, std::nullopt).value();
    store::MetricFilter f;
    f.sweep_id = sweep;
    s.metrics = store_->ListMetrics(f).value();
    s.events = store_->ListEvents(sweep).value();
    s.decisions = store_->ListDecisions(sweep, std::nullopt).value();
    s.sweeps = store_->ListSweeps().value();
    return s;
  }

  void ExpectUnchanged(const StoreSnapshot& before, const std::string& sweep) {
    StoreSnapshot after = Snapshot(sweep);
    EXPECT_TRUE(SameTrials(before.trials, after.trials));
    EXPECT_TRUE(SameAttempts(before.attempts, after.attempts));
    EXPECT_EQ(before.metrics.size(), after.metrics.size());
    EXPECT_EQ(before.events.size(), after.events.size());
    EXPECT_EQ(before.decisions.size(), after.decisions.size());
    ASSERT_EQ(before.sweeps.size(), after.sweeps.size());
    for (size_t i = 0; i < before.sweeps.size(); ++i) {
      EXPECT_EQ(before.sweeps[i].state, after.sweeps[i].state);
    }
  }

  core::FakeClock clock_;
  ControllerOptions options_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Controller> controller_;
};

}  // namespace sweep::controller::testing
