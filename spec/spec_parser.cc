#include "spec/spec_parser.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "spec/asset_names.h"
#include "spec/early_termination_parser.h"
#include "spec/points.h"
#include "spec/search_space_parser.h"
#include "spec/trial_parser.h"

namespace sweep::spec::internal {
namespace {

namespace fs = std::filesystem;

// Longest timeout a spec may set (100 years): the controller counts in milliseconds from
// now, and a larger value would overflow int64 (an instant deadline, or undefined behaviour).
constexpr int64_t kMaxTimeoutSeconds = 100LL * 365 * 24 * 3600;

constexpr char kCreateTarget[] =
    "create one with `sweep compute create NAME --type amlcompute --min-nodes 0 "
    "--max-nodes 4` and set `compute: azureml:NAME`";

const std::vector<std::string> kRootKeys = {"$schema",
                                            "type",
                                            "name",
                                            "display_name",
                                            "experiment_name",
                                            "description",
                                            "tags",
                                            "properties",
                                            "trial",
                                            "inputs",
                                            "compute",
                                            "sampling_algorithm",
                                            "search_space",
                                            "objective",
                                            "early_termination",
                                            "limits",
                                            "resources",
                                            "queue_settings",
                                            "outputs",
                                            "identity",
                                            "register_model",
                                            "initial_points",
                                            "warm_start"};

// A literal input that can only name remote data (a plain https:// value may be a URL the
// command means to use as one).
bool IsDataUri(absl::string_view value) {
  for (absl::string_view scheme :
       {"azureml://", "wasbs://", "wasb://", "abfss://", "abfs://", "adl://", "s3://", "gs://"}) {
    if (absl::StartsWithIgnoreCase(value, scheme)) return true;
  }
  return false;
}

bool IsValidTargetName(absl::string_view name) {
  if (name.size() < 2 || name.size() > 16) return false;
  if (!std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
  });
}

class SpecParser {
 public:
  SpecParser(Reader& reader, std::string base_dir)
      : r_(reader), base_dir_(base_dir), trial_(reader, base_dir) {}

  void Parse(const YAML::Node& root, SweepSpec& spec);

 private:
  // Adds to spec.hints that `uri`, an input's remote path, reaches the command as text.
  void HintRemoteInput(const Field& f, const std::string& uri, SweepSpec& spec);
  void ParseInputs(const Field& f, SweepSpec& spec);
  void ParseCompute(const Field* f, const Mapping& root, SweepSpec& spec);
  void ParseSampling(const Field& f, SweepSpec& spec);
  void ParseObjective(const Field& f, SweepSpec& spec);
  void ParseLimits(const Field& f, SweepSpec& spec);
  void ParseRegisterModel(const Field& f, SweepSpec& spec);
  void ParseInitialPoints(const Field& f, SweepSpec& spec);
  void ParseWarmStart(const Field& f, SweepSpec& spec);
  void CheckGrid(const Field& space_field, const internal::ParsedSpace& parsed);

  Reader& r_;
  std::string base_dir_;
  TrialParser trial_;
  std::vector<Field> job_inputs_;
};

void SpecParser::Parse(const YAML::Node& root, SweepSpec& spec) {
  Mapping m(r_, root, "", Location{1, 1}, "a mapping of keys (type, trial, search_space, ...)");
  if (!m.ok()) return;
  m.CheckKeys(kRootKeys);

  if (const Field* type = m.Require("type", "a sweep spec starts with `type: sweep`")) {
    if (std::optional<std::string> t = r_.String(*type);
        t && absl::AsciiStrToLower(*t) != "sweep") {
      r_.Error(type->loc, type->path,
               absl::AsciiStrToLower(*t) == "sweep_job"
                   ? std::string("'sweep_job' is an older form of Azure ML's sweep job; write "
                                 "`type: sweep`")
                   : absl::StrCat("must be 'sweep', got ", Quote(*t),
                                  " (only Azure ML sweep jobs can be run here)"));
    }
  }
  auto read_text = [&](const char* key, std::string& out) {
    if (const Field* f = m.Get(key)) {
      if (std::optional<std::string> v = r_.String(*f)) out = *v;
    }
  };
  std::string schema;
  read_text("$schema", schema);  // documentation for editors only
  read_text("name", spec.name);
  read_text("display_name", spec.display_name);
  read_text("experiment_name", spec.experiment_name);
  read_text("description", spec.description);
  if (spec.display_name.empty()) spec.display_name = spec.name;
  // Azure ML jobs carry both as string maps; neither changes what runs.
  auto read_string_map = [&](const char* key, const char* what,
                             std::map<std::string, std::string>& out) {
    const Field* f = m.Get(key);
    if (!f) return;
    Mapping entries(r_, f->value, f->path, f->loc);
    for (const Field& e : entries.fields()) {
      if (!e.value.IsScalar()) {
        r_.Error(e.loc, e.path, absl::StrCat("a ", what, " value must be a string"));
        continue;
      }
      out[e.key] = e.value.Scalar();
    }
  };
  read_string_map("tags", "tag", spec.tags);
  read_string_map("properties", "property", spec.properties);
  // Azure ML's identity governs its data access only; trials here run as the worker's own
  // user whatever it says, so a valid one is accepted and has no effect.
  if (const Field* f = m.Get("identity")) {
    Mapping im(r_, f->value, f->path, f->loc);
    if (const Field* type = im.Require("type", "user_identity, managed or aml_token")) {
      Keyword(r_, *type, {"user_identity", "managed", "managed_identity", "aml_token"});
    }
    im.CheckKeys({"type", "client_id", "object_id", "msi_resource_id"});
  }

  if (const Field* f = m.Require("trial", "the command each trial runs")) {
    trial_.ParseTrial(*f, spec);
  }
  if (const Field* f = m.Get("outputs")) trial_.ParseOutputs(*f, spec);
  if (const Field* f = m.Get("inputs")) ParseInputs(*f, spec);
  ParseCompute(m.Get("compute"), m, spec);
  if (const Field* f = m.Get("sampling_algorithm")) ParseSampling(*f, spec);
  internal::ParsedSpace parsed;
  const Field* space = m.Require("search_space", "the parameters to tune");
  if (space != nullptr) {
    parsed = internal::ParseSearchSpace(r_, *space);
    spec.search_space = parsed.space;
  }
  if (const Field* f = m.Require("objective", "{primary_metric: NAME, goal: maximize}")) {
    ParseObjective(*f, spec);
  }
  if (const Field* f = m.Get("early_termination")) {
    ParseEarlyTermination(r_, *f, spec.early_termination);
  }
  if (const Field* f = m.Get("limits")) ParseLimits(*f, spec);
  if (const Field* f = m.Get("register_model")) ParseRegisterModel(*f, spec);
  if (const Field* f = m.Get("warm_start")) ParseWarmStart(*f, spec);
  spec.limits.max_concurrent_trials =
      spec.limits.max_concurrent_trials == 0
          ? spec.limits.max_total_trials
          : std::min(spec.limits.max_concurrent_trials, spec.limits.max_total_trials);
  if (const Field* f = m.Get("initial_points"); f != nullptr && space != nullptr) {
    ParseInitialPoints(*f, spec);
  }

  if (space != nullptr && spec.sampling.algorithm == SamplingAlgorithm::kGrid) {
    CheckGrid(*space, parsed);
  }
  trial_.Check(spec, parsed, job_inputs_);
  trial_.Finish();
}

void SpecParser::ParseRegisterModel(const Field& f, SweepSpec& spec) {
  Mapping m(r_, f.value, f.path, f.loc, "{name: MODEL_NAME}");
  if (!m.ok()) return;
  m.CheckKeys({"name"});
  if (const Field* n = m.Require("name", "the model the best trial is registered as")) {
    if (std::optional<std::string> name = r_.String(*n)) {
      if (absl::Status s = ValidateModelName(*name); !s.ok()) {
        r_.Error(n->loc, n->path, s.message());
      } else {
        spec.register_model = *name;
      }
    }
  }
}

void SpecParser::ParseWarmStart(const Field& f, SweepSpec& spec) {
  Mapping m(r_, f.value, f.path, f.loc, "{sweeps: [SWEEP_ID, ...]}");
  if (!m.ok()) return;
  m.CheckKeys({"sweeps"});
  const Field* list = m.Require("sweeps", "the earlier sweeps whose finished trials to learn from");
  if (list == nullptr) return;
  if (!list->value.IsSequence() || list->value.size() == 0) {
    r_.Error(list->loc, list->path,
             "must be a non-empty list of sweep ids, e.g. [sw-1a2b3c4d5e6f]");
    return;
  }
  for (size_t i = 0; i < list->value.size(); ++i) {
    const Location loc = r_.Loc(list->value[i], list->loc);
    Field item{std::to_string(i), absl::StrCat(list->path, "[", i, "]"), list->value[i], loc, loc};
    std::optional<std::string> id = r_.String(item);
    if (!id) continue;
    if (id->empty()) {
      r_.Error(item.loc, item.path, "is empty; give a sweep id (or a unique prefix)");
    } else if (std::find(spec.warm_start_sweeps.begin(), spec.warm_start_sweeps.end(), *id) !=
               spec.warm_start_sweeps.end()) {
      r_.Error(item.loc, item.path, absl::StrCat("sweep '", *id, "' is listed twice"));
    } else {
      spec.warm_start_sweeps.push_back(*id);
    }
  }
}

void SpecParser::ParseInitialPoints(const Field& f, SweepSpec& spec) {
  if (!f.value.IsSequence()) {
    r_.Error(f.loc, f.path, "must be a list of points, e.g. [{lr: 0.01, hidden: 8}]");
    return;
  }
  for (size_t i = 0; i < f.value.size(); ++i) {
    const std::string path = absl::StrCat(f.path, "[", i, "]");
    Mapping m(r_, f.value[i], path, r_.Loc(f.value[i], f.loc), "a point {NAME: VALUE, ...}");
    if (!m.ok()) continue;
    core::Config point;
    bool ok = true;
    for (const Field& p : m.fields()) {
      std::optional<Scalar> s = ResolveScalar(p.value);
      if (!s || std::holds_alternative<std::monostate>(*s)) {
        r_.Error(p.loc, p.path, "must be a number, a string or a boolean");
        ok = false;
      } else {
        std::visit(
            [&](const auto& v) {
              if constexpr (!std::is_same_v<std::decay_t<decltype(v)>, std::monostate>)
                point[p.key] = v;
            },
            *s);
      }
    }
    if (!ok) continue;
    absl::StatusOr<core::Config> checked = CheckPoint(spec.search_space, point);
    if (!checked.ok()) {
      r_.Error(m.loc(), path, checked.status().message());
    } else {
      spec.initial_points.push_back(std::move(*checked));
    }
  }
  if (static_cast<int64_t>(f.value.size()) > spec.limits.max_total_trials) {
    r_.Error(f.loc, f.path,
             absl::StrCat("has ", f.value.size(), " points but limits.max_total_trials is ",
                          spec.limits.max_total_trials));
  }
}

void SpecParser::ParseInputs(const Field& f, SweepSpec& spec) {
  if (f.value.IsNull()) return;
  Mapping m(r_, f.value, f.path, f.loc);
  for (const Field& in : m.fields()) {
    if (!internal::IsValidName(in.key)) {
      r_.Error(in.key_loc, in.path,
               "invalid input name: use letters, digits and '_', not starting with a digit");
      continue;
    }
    job_inputs_.push_back(in);
    if (in.value.IsScalar()) {
      std::string value = in.value.Scalar();
      std::optional<internal::Scalar> s = internal::ResolveScalar(in.value);
      bool local_path = s && std::holds_alternative<std::string>(*s) &&
                        (value == "." || value == ".." || absl::StartsWith(value, "./") ||
                         absl::StartsWith(value, "../"));
      spec.inputs[in.key] = local_path ? Absolute(base_dir_, value) : value;
      if (IsDataUri(value)) HintRemoteInput(in, value, spec);
    } else if (in.value.IsMap()) {
      Mapping im(r_, in.value, in.path, in.loc);
      im.CheckKeys({"type", "path", "mode", "description"});
      if (const Field* t = im.Get("type")) {
        Keyword(r_, *t, {"uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model"});
      }
      if (const Field* mode = im.Get("mode")) {
        Keyword(r_, *mode,
                {"ro_mount", "rw_mount", "download", "direct", "eval_mount", "eval_download"});
      }
      if (const Field* p = im.Require("path", "the file or folder the input names")) {
        if (std::optional<std::string> path = r_.String(*p)) {
          if (path->empty()) {
            r_.Error(p->loc, p->path, "must not be empty");
          } else {
            spec.inputs[in.key] = IsRemote(*path) ? *path : Absolute(base_dir_, *path);
            if (IsRemote(*path)) HintRemoteInput(*p, *path, spec);
          }
        }
      }
    } else {
      r_.Error(in.loc, in.path,
               in.value.IsSequence()
                   ? "must be a value or {type: uri_file|uri_folder, path: PATH}, not a list"
                   : "needs a value or {type: uri_file|uri_folder, path: PATH}");
    }
  }
}

void SpecParser::HintRemoteInput(const Field& f, const std::string& uri, SweepSpec& spec) {
  // spec.cc's Parse puts the source in front, as errors have it.
  spec.hints.push_back(absl::StrCat(
      f.loc.line, ":", f.loc.column, ": ", f.path, ": ", Quote(uri),
      " is a remote URI: Sweep reads local paths and does not download data, so the command "
      "gets this text as it is. Copy the data where the trials run and give its path, e.g. "
      "`path: ./data` (relative to the spec) or `path: /mnt/data`"));
}

void SpecParser::ParseCompute(const Field* f, const Mapping& root, SweepSpec& spec) {
  // Run-based (serverless) requests at the top level, with or without `compute`.
  for (const char* key : {"resources", "queue_settings"}) {
    if (const Field* s = root.Get(key)) {
      r_.Error(s->key_loc, s->path,
               absl::StrCat("serverless compute is not supported: sweeps need a persistent "
                            "compute target; ",
                            kCreateTarget));
    }
  }
  if (f == nullptr) {
    r_.Error(root.loc(), "compute",
             absl::StrCat("missing: sweeps need a persistent compute target; ", kCreateTarget));
    return;
  }
  if (f->value.IsMap()) {
    Mapping m(r_, f->value, f->path, f->loc);
    std::string type;
    if (const Field* t = m.Get("type"); t && t->value.IsScalar())
      type = absl::AsciiStrToLower(t->value.Scalar());
    if (type == "databricks" || type == "adla" || type == "hdinsight" || type == "synapsespark" ||
        type == "kubernetes") {
      r_.Error(f->loc, f->path,
               absl::StrCat("compute type ", Quote(type),
                            " cannot run sweeps: they run only on amlcompute clusters and "
                            "attached remotevm targets; ",
                            kCreateTarget));
    } else {
      r_.Error(f->loc, f->path,
               absl::StrCat("an inline compute definition asks for run-based compute (created "
                            "for this job and deleted after), which sweeps cannot use: they "
                            "need a persistent compute target; ",
                            kCreateTarget));
    }
    return;
  }
  std::optional<std::string> text = r_.String(*f);
  if (!text) return;
  std::string name = std::string(absl::StripAsciiWhitespace(*text));
  if (absl::StartsWith(name, "azureml:")) name = name.substr(8);
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "serverless") {
    r_.Error(f->loc, f->path,
             absl::StrCat("serverless compute is created for one job and deleted after, "
                          "but sweeps need a persistent compute target; ",
                          kCreateTarget));
  } else if (lower == "local") {
    r_.Error(f->loc, f->path,
             absl::StrCat("'local' cannot run sweeps: trials run on the nodes of a persistent "
                          "compute target (the default amlcompute provider starts them on "
                          "this machine); ",
                          kCreateTarget));
  } else if (!IsValidTargetName(name)) {
    r_.Error(f->loc, f->path,
             absl::StrCat(Quote(name),
                          " is not a valid compute target name: 2-16 letters, digits or '-', "
                          "starting with a letter"));
  } else {
    spec.compute = name;
  }
}

void SpecParser::ParseSampling(const Field& f, SweepSpec& spec) {
  const std::vector<std::string> kTypes = {"random", "grid", "bayesian", "tpe"};
  auto set_type = [&](const std::string& t) {
    if (t == "random") spec.sampling.algorithm = SamplingAlgorithm::kRandom;
    if (t == "grid") spec.sampling.algorithm = SamplingAlgorithm::kGrid;
    if (t == "bayesian") spec.sampling.algorithm = SamplingAlgorithm::kBayesian;
    if (t == "tpe") spec.sampling.algorithm = SamplingAlgorithm::kTpe;
  };
  if (!f.value.IsMap()) {
    if (f.value.IsScalar() && absl::AsciiStrToLower(f.value.Scalar()) == "sobol") {
      r_.Error(f.loc, f.path,
               "sobol is a rule of random sampling: write {type: random, rule: sobol}");
      return;
    }
    if (std::optional<std::string> t = Keyword(r_, f, kTypes)) set_type(*t);
    return;
  }
  Mapping m(r_, f.value, f.path, f.loc);
  const Field* type = m.Require("type", "random, grid, bayesian or tpe");
  std::optional<std::string> t = type ? Keyword(r_, *type, kTypes) : std::nullopt;
  if (!t) {
    m.CheckKeys({"type", "rule", "seed"});
    return;
  }
  set_type(*t);
  std::vector<std::string> allowed = {"type"};
  if (*t == "random") allowed = {"type", "rule", "seed"};
  if (*t == "bayesian" || *t == "tpe") allowed = {"type", "seed"};
  for (const Field& k : m.fields()) {
    if (std::find(allowed.begin(), allowed.end(), k.key) != allowed.end()) continue;
    std::string message;
    if (k.key == "rule" || k.key == "seed") {
      message =
          absl::StrCat(Quote(k.key), " is not a setting of ", *t, " sampling",
                       k.key == "rule" ? " (only random has a rule)" : " (it has no randomness)");
    } else {
      message = absl::StrCat("unknown key ", Quote(k.key));
      if (auto close = ClosestMatch(k.key, {"type", "rule", "seed"})) {
        absl::StrAppend(&message, " (did you mean ", Quote(*close), "?)");
      }
    }
    r_.Error(k.key_loc, f.path, message);
  }
  if (const Field* rule = m.Get("rule"); rule && *t == "random") {
    if (std::optional<std::string> v = Keyword(r_, *rule, {"random", "sobol"})) {
      spec.sampling.rule = *v == "sobol" ? RandomRule::kSobol : RandomRule::kRandom;
    }
  }
  if (const Field* seed = m.Get("seed"); seed && *t != "grid") {
    if (std::optional<int64_t> v = r_.Integer(*seed)) {
      if (*v < 0) {
        r_.Error(seed->loc, seed->path, absl::StrCat("must not be negative, got ", *v));
      } else {
        spec.sampling.seed = static_cast<uint64_t>(*v);
      }
    }
  }
}

void SpecParser::ParseObjective(const Field& f, SweepSpec& spec) {
  Mapping m(r_, f.value, f.path, f.loc);
  if (!m.ok()) return;
  m.CheckKeys({"primary_metric", "goal", "aggregation"});
  if (const Field* pm = m.Require("primary_metric", "the metric name the trials report")) {
    if (std::optional<std::string> name = r_.String(*pm)) {
      bool bad = name->empty() || name->size() > 256 ||
                 std::any_of(name->begin(), name->end(), [](char c) {
                   return std::isspace(static_cast<unsigned char>(c)) || c == '=';
                 });
      if (bad) {
        r_.Error(pm->loc, pm->path,
                 absl::StrCat("invalid metric name ", Quote(*name),
                              ": it must be non-empty, at most 256 characters, without blanks or "
                              "'=' (trials report "
                              "`name=value`)"));
      } else {
        spec.objective.primary_metric = *name;
      }
    }
  }
  if (const Field* goal = m.Require("goal", "maximize or minimize")) {
    if (auto g = Keyword(r_, *goal, {"maximize", "minimize"})) {
      spec.objective.goal = *g == "maximize" ? core::Goal::kMaximize : core::Goal::kMinimize;
    }
  }
  if (const Field* agg = m.Get("aggregation")) {
    if (auto a = Keyword(r_, *agg, {"last", "best"})) {
      spec.objective.aggregation =
          *a == "best" ? core::Aggregation::kBest : core::Aggregation::kLast;
    }
  }
}

void SpecParser::ParseLimits(const Field& f, SweepSpec& spec) {
  if (f.value.IsNull()) return;
  Mapping m(r_, f.value, f.path, f.loc);
  m.CheckKeys({"max_total_trials", "max_concurrent_trials", "timeout", "trial_timeout",
               "max_retries", "node_wait_timeout"});
  Limits& l = spec.limits;
  if (const Field* k = m.Get("max_total_trials")) {
    if (auto v = r_.PositiveInteger(*k)) l.max_total_trials = *v;
  }
  if (const Field* k = m.Get("max_concurrent_trials")) {
    if (auto v = r_.PositiveInteger(*k)) l.max_concurrent_trials = *v;
  }
  // Seconds, at most kMaxTimeoutSeconds (the error is reported at the key).
  auto within_max = [&](const Field& k, std::optional<int64_t> v) -> std::optional<int64_t> {
    if (v && *v > kMaxTimeoutSeconds) {
      r_.Error(k.loc, k.path,
               absl::StrCat("must be at most ", kMaxTimeoutSeconds, " seconds, got ", *v));
      return std::nullopt;
    }
    return v;
  };
  if (const Field* k = m.Get("timeout")) {
    if (auto v = within_max(*k, r_.PositiveInteger(*k))) l.timeout_s = *v;
  }
  if (const Field* k = m.Get("trial_timeout")) {
    if (auto v = within_max(*k, r_.PositiveInteger(*k))) l.trial_timeout_s = *v;
  }
  if (const Field* k = m.Get("max_retries")) {
    // 0 is meaningful here: never retry a lost attempt.
    if (auto v = r_.Integer(*k)) {
      if (*v < 0) {
        r_.Error(k->loc, k->path, absl::StrCat("must not be negative, got ", *v));
      } else {
        l.max_retries = *v;
      }
    }
  }
  if (const Field* k = m.Get("node_wait_timeout")) {
    // 0 is meaningful here too: wait for a node for ever.
    if (auto v = within_max(*k, r_.Integer(*k))) {
      if (*v < 0) {
        r_.Error(k->loc, k->path,
                 absl::StrCat("must not be negative, got ", *v, " (0 waits for ever)"));
      } else {
        l.node_wait_timeout_s = *v;
      }
    }
  }
}

void SpecParser::CheckGrid(const Field& space_field, const internal::ParsedSpace& parsed) {
  bool all_finite = true;
  for (const internal::ParamSite& site : parsed.sites) {
    if (!site.kind) continue;
    core::ParamKind kind = *site.kind;
    if (kind == core::ParamKind::kChoice || kind == core::ParamKind::kRandint ||
        kind == core::ParamKind::kQUniform || kind == core::ParamKind::kQLogUniform) {
      continue;
    }
    all_finite = false;
    std::string why = core::IsNormal(kind)
                          ? absl::StrCat(core::ParamKindName(kind), " is unbounded")
                          : absl::StrCat(core::ParamKindName(kind), " is continuous");
    r_.Error(site.loc, site.path,
             absl::StrCat("grid sampling needs finitely many values, but ", why,
                          "; use choice, randint, or quniform/qloguniform with a step q (or "
                          "another sampling_algorithm)"));
  }
  if (all_finite && !parsed.space.params.empty() && !core::Cardinality(parsed.space)) {
    r_.Error(space_field.loc, space_field.path,
             "grid sampling: the space has more than 2^62 configurations");
  }
}

}  // namespace

void ParseSpecDocument(Reader& reader, const YAML::Node& root, SweepSpec& spec) {
  SpecParser parser(reader, spec.base_dir);
  parser.Parse(root, spec);
}

}  // namespace sweep::spec::internal
