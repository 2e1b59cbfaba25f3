#include "cli/live_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sweep::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kStart = 1'700'000'000'000;

core::Trial MakeTrial(int64_t id, core::TrialState state, std::optional<double> value) {
  core::Trial t;
  t.sweep_id = "sw-0123456789ab";
  t.trial_id = id;
  t.state = state;
  t.final_value = value;
  t.config = {{"lr", 0.01 * static_cast<double>(id)}};
  t.created_ms = t.started_ms = kStart + id * 1000;
  if (core::IsTerminal(state)) t.ended_ms = t.started_ms + 10'000;
  return t;
}

core::Sweep MakeSweep() {
  core::Sweep s;
  s.id = "sw-0123456789ab";
  s.name = "demo";
  s.compute = "cpu-cluster";
  s.sampling_algorithm = "random";
  s.objective.primary_metric = "accuracy";
  s.max_total_trials = 10;
  s.created_ms = kStart;
  return s;
}

LiveSnapshot Snapshot() {
  LiveSnapshot s;
  s.sweep = MakeSweep();
  std::vector<core::Trial> trials = {MakeTrial(1, core::TrialState::kCompleted, 0.9),
                                     MakeTrial(2, core::TrialState::kFailed, std::nullopt),
                                     MakeTrial(3, core::TrialState::kRunning, 0.4),
                                     MakeTrial(4, core::TrialState::kPending, std::nullopt)};
  s.summary = Summarize(s.sweep, trials);
  s.running = {{3, "node-abc", kStart + 3000, 0.4, 2, trials[2].config}};
  core::Event e;
  e.kind = "trial_completed";
  e.trial_id = 1;
  e.message = "accuracy=0.9";
  e.timestamp_ms = kStart + 11'000;
  s.recent = {e};
  s.now_ms = kStart + 60'000;  // one minute in, two trials ended
  return s;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

TEST(LiveViewTest, ShowsCountsBestPaceRunningAndEvents) {
  LiveStyle style;
  style.color = false;
  style.width = 120;
  std::string view = Join(RenderLiveView(Snapshot(), style));
  EXPECT_THAT(view, HasSubstr("sweep    sw-0123456789ab  demo  running  random on cpu-cluster, "
                              "maximize accuracy"));
  EXPECT_THAT(view, HasSubstr("progress [####>>..................] 2 of 10 trials ended"));
  EXPECT_THAT(view, HasSubstr("1 completed  1 running  1 pending  1 failed  0 early terminated  "
                              "0 canceled"));
  EXPECT_THAT(view, HasSubstr("best     accuracy=0.9 (trial 1)  lr=0.01"));
  EXPECT_THAT(view, HasSubstr("pace     2.0 trials/min   elapsed 1m00s   ETA 4m00s"));
  EXPECT_THAT(view, HasSubstr("running  TRIAL  NODE      INTERVAL  accuracy  FOR    PARAMS"));
  EXPECT_THAT(view, HasSubstr("         3      node-abc  2         0.4       57.0s  lr=0.03"));
  EXPECT_THAT(view, HasSubstr("events   "));
  EXPECT_THAT(view, HasSubstr("trial 1 completed: accuracy=0.9"));
  EXPECT_THAT(view, Not(HasSubstr("\x1b")));
}

TEST(LiveViewTest, ColoursOnlyWhenAsked) {
  LiveStyle style;
  style.color = true;
  std::string view = Join(RenderLiveView(Snapshot(), style));
  EXPECT_THAT(view, HasSubstr("\x1b[32m1 completed\x1b[0m"));
  EXPECT_THAT(view, HasSubstr("\x1b[31m1 failed\x1b[0m"));
}

TEST(LiveViewTest, LinesFitTheTerminal) {
  LiveStyle style;
  style.width = 40;
  for (bool color : {false, true}) {
    style.color = color;
    for (const std::string& line : RenderLiveView(Snapshot(), style)) {
      std::string plain;
      for (size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '\x1b') {
          i = line.find('m', i);
          continue;
        }
        plain += line[i];
      }
      EXPECT_LE(plain.size(), 39u) << plain;
    }
  }
}

TEST(LiveViewTest, ManyRunningTrialsAreCounted) {
  LiveSnapshot s = Snapshot();
  for (int64_t id = 10; id < 20; ++id) s.running.push_back({id, "node-x", kStart, 0.5, 1, {}});
  LiveStyle style;
  style.color = false;
  style.max_running = 4;
  std::string view = Join(RenderLiveView(s, style));
  EXPECT_THAT(view, HasSubstr("... and 7 more"));
}

TEST(LiveViewTest, PaceAndEta) {
  LiveSnapshot s = Snapshot();
  Pace pace = ComputePace(s);
  EXPECT_DOUBLE_EQ(pace.per_minute, 2.0);
  EXPECT_EQ(pace.elapsed_ms, 60'000);
  EXPECT_EQ(pace.eta_ms, 240'000);  // 8 trials left at 2 a minute
  s.summary.completed = s.summary.failed = 0;
  EXPECT_EQ(ComputePace(s).eta_ms, std::nullopt);  // nothing ended: no pace yet
  s = Snapshot();
  s.sweep.state = core::SweepState::kCompleted;
  s.sweep.ended_ms = kStart + 30'000;
  EXPECT_EQ(ComputePace(s).elapsed_ms, 30'000);  // frozen at the end
  EXPECT_EQ(ComputePace(s).eta_ms, std::nullopt);
}

TEST(LiveViewTest, FitToWidthCountsCharactersNotBytes) {
  EXPECT_EQ(FitToWidth("abcdef", 3), "abc");
  EXPECT_EQ(FitToWidth("\x1b[1mabcdef\x1b[0m", 3), "\x1b[1mabc\x1b[0m");
  EXPECT_EQ(FitToWidth("h\xc3\xa9llo", 2), "h\xc3\xa9");  // é is one character
  EXPECT_EQ(FitToWidth("short", 10), "short");
}

TEST(LiveViewTest, SnapshotFromAStore) {
  std::unique_ptr<store::Store> store = store::NewInMemoryStore();
  core::Sweep sweep = MakeSweep();
  core::Trial running = MakeTrial(1, core::TrialState::kRunning, 0.3);
  auto attempt = [&](int32_t n, const std::string& node, core::AttemptState state) {
    core::Attempt a;
    a.sweep_id = sweep.id;
    a.trial_id = 1;
    a.attempt = n;
    a.node_id = node;
    a.fencing_token = static_cast<uint64_t>(n);
    a.state = state;
    return a;
  };
  core::Attempt first = attempt(1, "node-old", core::AttemptState::kLost);
  core::Attempt second = attempt(2, "node-new", core::AttemptState::kRunning);
  second.started_ms = kStart + 5000;
  auto point = [&](int32_t attempt, int64_t interval, double value) {
    core::MetricPoint p;
    p.sweep_id = sweep.id;
    p.trial_id = 1;
    p.attempt = attempt;
    p.name = "accuracy";
    p.value = value;
    p.interval = interval;
    return p;
  };
  store::WriteBatch batch;
  batch.sweeps = {sweep};
  batch.trials = {running};
  batch.attempts = {first, second};
  batch.metrics = {point(1, 1, 0.1), point(1, 2, 0.2), point(1, 3, 0.25), point(2, 1, 0.3)};
  for (int i = 0; i < 8; ++i) {
    core::Event e;
    e.sweep_id = sweep.id;
    e.kind = "event_" + std::to_string(i);
    batch.events.push_back(e);
  }
  ASSERT_TRUE(store->Commit(batch).ok());
  absl::StatusOr<LiveSnapshot> s = LoadLiveSnapshot(store.get(), sweep.id, kStart + 9000);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->running.size(), 1u);
  EXPECT_EQ(s->running[0].node_id, "node-new");  // the latest attempt
  EXPECT_EQ(s->running[0].latest, 0.3);          // its own report, not the lost attempt's
  EXPECT_EQ(s->running[0].interval, 1);
  EXPECT_EQ(s->running[0].started_ms, kStart + 5000);
  ASSERT_EQ(s->recent.size(), kLiveRecentEvents);
  EXPECT_EQ(s->recent.back().kind, "event_7");
  EXPECT_FALSE(LoadLiveSnapshot(store.get(), "sw-missing", 0).ok());
}

}  // namespace
}  // namespace sweep::cli
