// A sweep spec: the Azure ML CLI v2 sweep job YAML (`type: sweep`), parsed and
// validated into a SweepSpec. Every key: docs/spec.md.
//
// Thread safety: free functions, no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/env.h"
#include "core/policy_settings.h"
#include "core/search_space.h"
#include "core/types.h"

namespace sweep::spec {

enum class SamplingAlgorithm { kRandom, kGrid, kBayesian, kTpe };
enum class RandomRule { kRandom, kSobol };

struct Sampling {
  SamplingAlgorithm algorithm = SamplingAlgorithm::kRandom;
  RandomRule rule = RandomRule::kRandom;  // kRandom only
  std::optional<uint64_t> seed;
};

const char* SamplingAlgorithmName(SamplingAlgorithm a);  // "random", "grid", ...

using core::EarlyTermination;
using core::PolicyType;
using core::PolicyTypeName;

// In a spec every limit is a positive integer (an integral float such as 1e3 is
// accepted), except max_retries which may be 0 (never retry).
struct Limits {
  int64_t max_total_trials = 1000;
  // Defaults to max_total_trials; a larger value is clamped to it (Azure accepts it too,
  // and it can never be reached), so after parsing 1 <= concurrent <= total.
  int64_t max_concurrent_trials = 0;
  int64_t timeout_s = 0;        // whole sweep; 0 = none
  int64_t trial_timeout_s = 0;  // each trial; 0 = none
  int64_t max_retries = 3;      // lost attempts per trial (extension key)
  // How long a sweep may wait without a single node of its target before it ends
  // `failed` (extension key `node_wait_timeout`, seconds; 0 = wait for ever); nullopt:
  // the controller's default (ControllerOptions::node_wait_timeout_ms).
  std::optional<int64_t> node_wait_timeout_s;
};

struct TrialTemplate {
  std::string code;         // absolute path of the code directory, or "" if none
  std::string command;      // as written, with ${{...}} references unresolved
  std::string environment;  // "" = user-managed; else the environment reference
  // `environment_variables`, set for the trial (Sweep's own SWEEP_*/AZUREML_* win).
  std::map<std::string, std::string> environment_variables;
  // `outputs` (the job's and the component's): name -> type (uri_folder, uri_file,
  // mlflow_model, custom_model, mltable). ${{outputs.NAME}} is <attempt>/outputs/NAME.
  std::map<std::string, std::string> outputs;
  // `trial: file:PATH`: the component file's absolute path; "" when written inline.
  std::string component;
  // Component inputs filled by the search_space key of the same name: ${{inputs.NAME}}
  // gets the sampled value.
  std::set<std::string> search_space_inputs;
};

struct SweepSpec {
  std::string path;          // absolute path of the spec file ("" when parsed from text)
  std::string base_dir;      // directory relative paths resolve against
  std::string display_name;  // `display_name`, else `name`, else the spec file's stem
  std::string experiment_name;
  std::string name;                               // Azure's job `name` (informational)
  std::string description;                        // informational
  std::map<std::string, std::string> tags;        // informational
  std::map<std::string, std::string> properties;  // informational, like tags
  TrialTemplate trial;
  std::map<std::string, std::string> inputs;  // name -> value (paths made absolute)
  std::string compute;                        // target name, "azureml:" stripped
  Sampling sampling;
  core::SearchSpace search_space;
  core::Objective objective;
  EarlyTermination early_termination;
  Limits limits;
  // `register_model: {name: NAME}`: register the best trial as a new version of this
  // model when the sweep completes; "" = don't.
  std::string register_model;
  // Advice that does not make the spec invalid, as "SOURCE:12:11: inputs.data.path: ..."
  // (e.g. a remote URI an input passes through as text); `sweep validate` prints it.
  std::vector<std::string> hints;
  // `initial_points: [{lr: 0.01, hidden: 8}, ...]` (extension key): configurations tried
  // before any sampled one, in this order, each checked against the space
  // (spec/points.h) and canonical. At most limits.max_total_trials of them.
  std::vector<core::Config> initial_points;
  // `warm_start: {sweeps: [ID, ...]}` (extension key; `sweep run --warm-start ID` adds
  // more): earlier sweeps of the workspace whose finished trials the sampler learns from
  // (workspace/warm_start.h). Ids or unique prefixes, as written, no duplicates.
  std::vector<std::string> warm_start_sweeps;
};

// Parses and validates a spec file. On failure the status is InvalidArgument whose
// message lists every error found (the first 100, then a count), sorted by position,
// one per line, each "FILE:LINE:COL: KEY: reason" (FILE as given; KEY is the key path,
// e.g. search_space.lr.max_value, absent for document-level errors). NotFound when the
// file does not exist.
//
// What is checked here: every key (unknown ones are errors, with a close-match
// suggestion), types and ranges, compute rules (a persistent target name is required;
// serverless, local, inline and databricks/adla/hdinsight compute are rejected), grid
// needs a finite space, ${{...}} references in trial.command name known parameters and
// inputs, trial.code exists, the syntax of trial.environment and register_model.name
// (spec/asset_names.h), the rules of early-termination settings (spec/early_termination.h).
// Whether the environment and the compute target exist is the controller's job.
// Relative trial.code and local input paths (`./x`, `../x`, or the `path` of a
// {type: uri_file|uri_folder, path} input) are made absolute against the spec's
// directory; `azureml:` references and URLs are kept as written. The file is read through
// `env`.
// Input limits: the text is at most kMaxSpecBytes and UTF-8 (each key or value that is
// not is reported by its key path), at most 10000 parameters, parameter names of at most
// 128 characters, at most 10000 values per choice, a primary metric of at most 256.
inline constexpr size_t kMaxSpecBytes = 1 << 20;
absl::StatusOr<SweepSpec> LoadSpecFile(const std::string& path,
                                       core::Env* env = core::Env::Default());

// Same, from text; `path` names the source in messages ("<spec>" when empty) and
// `base_dir` resolves relative paths (code, inputs); empty = the current directory.
absl::StatusOr<SweepSpec> ParseSpec(const std::string& yaml_text, const std::string& path,
                                    const std::string& base_dir);

// The shell a trial command with shell syntax runs through (`sh` on nodes without it).
inline constexpr char kTrialShell[] = "/bin/bash";

// How one trial's command runs.
struct TrialCommand {
  bool shell = false;
  // Why it needs the shell (ParsedCommand::shell_syntax, or the ${{outputs.NAME}} it
  // uses); "" when it runs directly.
  std::string why_shell;
  // Direct: the program and its arguments. Shell: {kTrialShell, "-c", SCRIPT}.
  std::vector<std::string> argv;
};

// Builds a trial's command from the template (spec/command.h) and a configuration:
// ${{search_space.NAME}}, ${{inputs.NAME}} (the sampled value when a search_space key
// fills that component input, else the input's value) and ${{outputs.NAME}} (the
// directory <attempt>/outputs/NAME, created first; only the node knows the path, so
// such a command runs through the shell, which reads it from $SWEEP_OUTPUTS_DIR). Run
// directly, a value is one argv element; through the shell, it is pasted shell-quoted, so
// it is one word and never code. A word that references a parameter inactive in `config`
// is dropped, together with an immediately preceding option word ("--name").
// InvalidArgument ("trial.command: ...") on unknown references or nothing left to run.
absl::StatusOr<TrialCommand> BuildTrialCommand(const SweepSpec& spec, const core::Config& config);

// BuildTrialCommand's argv.
absl::StatusOr<std::vector<std::string>> BuildArgv(const SweepSpec& spec,
                                                   const core::Config& config);

// Appends each of `ids` (sweep ids or prefixes, e.g. from `--warm-start`) to
// spec.warm_start_sweeps unless already there; order is kept.
void AddWarmStartSweeps(SweepSpec& spec, const std::vector<std::string>& ids);

// The resolved spec as text for `sweep validate` (search space, sampling, limits...).
std::string DescribeSpec(const SweepSpec& spec);

}  // namespace sweep::spec
