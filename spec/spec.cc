#include "spec/spec.h"

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <unordered_set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"
#include "core/utf8.h"
#include "spec/spec_parser.h"
#include "spec/yaml_reader.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace sweep::spec {
namespace {

namespace fs = std::filesystem;
using internal::Location;
using internal::Reader;

// Records where each document starts. Counting documents with it replaces
// YAML::LoadAll, which loops forever (allocating) on text such as ",": yaml-cpp 0.7
// emits an empty document without consuming the token, again and again.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

Location LocationOf(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return {1, 1};
  return {mark.line + 1, mark.column + 1};
}

// Every key and scalar must be UTF-8: the spec's strings reach JSON (SWEEP_PARAMS, the
// store) and proto3 strings, which refuse anything else. Reports each bad one by key.
// `checked`: the start positions of the collections already walked. An alias is the
// anchored node itself (the same mark), so each is walked once: following aliases
// afresh made a 40-line alias bomb cost minutes.
void CheckUtf8(const YAML::Node& node, const std::string& path, int depth,
               internal::Diagnostics& diagnostics, std::unordered_set<int>& checked) {
  if (depth > 64) return;  // the parser refuses deeper nesting on its own
  if ((node.IsSequence() || node.IsMap()) && node.Mark().pos >= 0 &&
      !checked.insert(node.Mark().pos).second) {
    return;
  }
  if (node.IsScalar()) {
    if (!core::IsValidUtf8(node.Scalar())) {
      diagnostics.Add(LocationOf(node.Mark()), path,
                      absl::StrCat("the value is ", core::DescribeInvalidUtf8(node.Scalar()),
                                   "; a spec must be UTF-8 text"));
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      CheckUtf8(node[i], absl::StrCat(path, "[", i, "]"), depth + 1, diagnostics, checked);
    }
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
      if (!core::IsValidUtf8(key)) {
        diagnostics.Add(LocationOf(it->first.Mark()), path,
                        absl::StrCat("a key is ", core::DescribeInvalidUtf8(key),
                                     "; a spec must be UTF-8 text"));
        key = core::SanitizeUtf8(key);
      }
      CheckUtf8(it->second, internal::JoinPath(path, key), depth + 1, diagnostics, checked);
    }
  }
}

absl::StatusOr<SweepSpec> Parse(const std::string& yaml_text, const std::string& source,
                                const std::string& base_dir) {
  internal::Diagnostics diagnostics(source);
  if (yaml_text.size() > kMaxSpecBytes) {
    diagnostics.Add({1, 1}, "",
                    absl::StrCat("the spec is ", yaml_text.size(), " bytes; at most ",
                                 kMaxSpecBytes, " are allowed"));
    return diagnostics.ToStatus();
  }
  std::vector<YAML::Node> documents;
  try {
    std::istringstream in(yaml_text);
    YAML::Parser parser(in);
    DocumentStarts counter;
    // Two documents are enough to know the spec is not a single one.
    while (counter.starts.size() < 3 && parser.HandleNextDocument(counter)) {
      size_t n = counter.starts.size();
      if (n >= 2 && counter.starts[n - 1].pos == counter.starts[n - 2].pos) {
        const YAML::Mark& stuck = counter.starts[n - 1];
        std::string what = stuck.pos >= 0 && static_cast<size_t>(stuck.pos) < yaml_text.size()
                               ? absl::StrCat(" '", yaml_text.substr(stuck.pos, 1), "'")
                               : "";
        diagnostics.Add(LocationOf(stuck), "", absl::StrCat("YAML syntax error: unexpected", what));
        return diagnostics.ToStatus();
      }
    }
    if (counter.starts.size() > 1) {
      diagnostics.Add(LocationOf(counter.starts[1]), "",
                      "a spec must be a single YAML document (found a second one)");
      return diagnostics.ToStatus();
    }
    if (!counter.starts.empty()) documents.push_back(YAML::Load(yaml_text));
  } catch (const YAML::Exception& e) {
    Location loc;
    if (!e.mark.is_null() && e.mark.line >= 0) loc = {e.mark.line + 1, e.mark.column + 1};
    diagnostics.Add(loc, "", absl::StrCat("YAML syntax error: ", e.msg));
    return diagnostics.ToStatus();
  } catch (const std::exception& e) {
    diagnostics.Add({1, 1}, "", absl::StrCat("cannot read YAML: ", e.what()));
    return diagnostics.ToStatus();
  }
  if (documents.empty() || documents[0].IsNull()) {
    diagnostics.Add({1, 1}, "", "the spec is empty; it starts with `type: sweep`");
    return diagnostics.ToStatus();
  }
  std::unordered_set<int> checked;
  CheckUtf8(documents[0], "", 0, diagnostics, checked);
  if (!diagnostics.empty()) return diagnostics.ToStatus();
  SweepSpec spec;
  std::error_code ec;
  spec.base_dir = base_dir.empty() ? fs::current_path(ec).string()
                                   : fs::absolute(base_dir, ec).lexically_normal().string();
  if (spec.base_dir.size() > 1 && spec.base_dir.back() == '/') spec.base_dir.pop_back();
  Reader reader(diagnostics, &yaml_text);
  try {
    internal::ParseSpecDocument(reader, documents[0], spec);
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws on conversions we do not expect to fail; keep it inside.
    diagnostics.Add({1, 1}, "", absl::StrCat("cannot read the spec: ", e.what()));
  }
  if (!diagnostics.empty()) return diagnostics.ToStatus();
  for (std::string& hint : spec.hints) hint = absl::StrCat(source, ":", hint);
  return spec;
}

std::string Seconds(int64_t s) { return s == 0 ? "none" : absl::StrCat(s, " s"); }

}  // namespace

const char* SamplingAlgorithmName(SamplingAlgorithm a) {
  switch (a) {
    case SamplingAlgorithm::kRandom:
      return "random";
    case SamplingAlgorithm::kGrid:
      return "grid";
    case SamplingAlgorithm::kBayesian:
      return "bayesian";
    case SamplingAlgorithm::kTpe:
      return "tpe";
  }
  return "?";
}

absl::StatusOr<SweepSpec> LoadSpecFile(const std::string& path, core::Env* env) {
  absl::StatusOr<core::FileInfo> info = env->Stat(path);
  if (!info.ok()) return absl::NotFoundError(absl::StrCat("spec file not found: ", path));
  if (info->is_directory()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not a spec file"));
  }
  absl::StatusOr<std::string> text = env->ReadFile(path);
  if (!text.ok()) return absl::PermissionDeniedError(absl::StrCat("cannot read spec file ", path));
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec).lexically_normal();
  ASSIGN_OR_RETURN(SweepSpec spec, Parse(*text, path, absolute.parent_path().string()));
  spec.path = absolute.string();
  if (spec.display_name.empty()) spec.display_name = absolute.stem().string();
  return spec;
}

absl::StatusOr<SweepSpec> ParseSpec(const std::string& yaml_text, const std::string& path,
                                    const std::string& base_dir) {
  return Parse(yaml_text, path.empty() ? "<spec>" : path, base_dir);
}

void AddWarmStartSweeps(SweepSpec& spec, const std::vector<std::string>& ids) {
  std::vector<std::string>& list = spec.warm_start_sweeps;
  for (const std::string& id : ids) {
    if (std::find(list.begin(), list.end(), id) == list.end()) list.push_back(id);
  }
}

std::string DescribeSpec(const SweepSpec& spec) {
  std::ostringstream out;
  if (!spec.path.empty()) out << "spec:               " << spec.path << "\n";
  if (!spec.display_name.empty()) out << "name:               " << spec.display_name << "\n";
  if (!spec.experiment_name.empty()) {
    out << "experiment:         " << spec.experiment_name << "\n";
  }
  out << "compute:            " << spec.compute << "\n";
  if (!spec.trial.component.empty()) {
    out << "component:          " << spec.trial.component << "\n";
  }
  out << "command:            " << spec.trial.command << "\n";
  out << "code:               " << (spec.trial.code.empty() ? "(none)" : spec.trial.code) << "\n";
  out << "environment:        "
      << (spec.trial.environment.empty() ? "(the node's own)" : spec.trial.environment) << "\n";
  if (!spec.register_model.empty()) {
    out << "register model:     " << spec.register_model << " (the best trial, when completed)\n";
  }
  if (!spec.inputs.empty() || !spec.trial.search_space_inputs.empty()) {
    out << "inputs:\n";
    for (const auto& [name, value] : spec.inputs) {
      if (spec.trial.search_space_inputs.count(name) == 0) {
        out << "  " << name << ": " << value << "\n";
      }
    }
    for (const std::string& name : spec.trial.search_space_inputs) {
      out << "  " << name << ": (search_space." << name << ")\n";
    }
  }
  if (!spec.trial.outputs.empty()) {
    out << "outputs:\n";
    for (const auto& [name, type] : spec.trial.outputs) {
      out << "  " << name << ": " << type << ", <attempt>/outputs/" << name << "\n";
    }
  }
  if (!spec.trial.environment_variables.empty()) {
    out << "environment variables:\n";
    for (const auto& [name, value] : spec.trial.environment_variables) {
      out << "  " << name << "=" << value << "\n";
    }
  }
  out << "sampling:           " << SamplingAlgorithmName(spec.sampling.algorithm);
  if (spec.sampling.algorithm == SamplingAlgorithm::kRandom &&
      spec.sampling.rule == RandomRule::kSobol) {
    out << " (sobol)";
  }
  if (spec.sampling.seed) out << ", seed " << *spec.sampling.seed;
  out << "\n";
  out << "objective:          " << core::GoalName(spec.objective.goal) << " "
      << spec.objective.primary_metric << " ("
      << (spec.objective.aggregation == core::Aggregation::kBest ? "best" : "last")
      << " reported value)\n";
  const Limits& l = spec.limits;
  out << "limits:             " << l.max_total_trials << " trials, " << l.max_concurrent_trials
      << " concurrent, timeout " << Seconds(l.timeout_s) << ", trial timeout "
      << Seconds(l.trial_timeout_s) << ", " << l.max_retries << " retries";
  if (l.node_wait_timeout_s) {
    out << ", node wait "
        << (*l.node_wait_timeout_s == 0 ? "for ever" : Seconds(*l.node_wait_timeout_s));
  }
  out << "\n";
  if (!spec.initial_points.empty()) {
    out << "initial points:     " << spec.initial_points.size() << ", tried first\n";
  }
  if (!spec.warm_start_sweeps.empty()) {
    out << "warm start from:    " << absl::StrJoin(spec.warm_start_sweeps, ", ") << "\n";
  }
  const EarlyTermination& et = spec.early_termination;
  out << "early termination:  " << PolicyTypeName(et.type);
  if (et.type != PolicyType::kNone) {
    out << " (";
    switch (et.type) {
      case PolicyType::kBandit:
        if (et.slack_factor) out << "slack_factor " << core::ParamValueToString(*et.slack_factor);
        if (et.slack_amount) out << "slack_amount " << core::ParamValueToString(*et.slack_amount);
        out << ", ";
        break;
      case PolicyType::kTruncationSelection:
        out << "truncation_percentage " << et.truncation_percentage << ", exclude_finished_jobs "
            << (et.exclude_finished_jobs ? "true" : "false") << ", ";
        break;
      case PolicyType::kAsha:
        out << "reduction_factor " << core::ParamValueToString(et.reduction_factor)
            << ", min_interval " << et.min_interval << ", max_interval " << et.max_interval << ", ";
        break;
      default:
        break;
    }
    out << "evaluation_interval " << et.evaluation_interval << ", delay_evaluation "
        << et.delay_evaluation << ")";
  }
  out << "\n";
  std::optional<uint64_t> size = core::Cardinality(spec.search_space);
  out << "search space:       " << spec.search_space.params.size() << " parameter"
      << (spec.search_space.params.size() == 1 ? "" : "s") << ", "
      << (size ? absl::StrCat(*size, " configurations") : std::string("infinite")) << "\n";
  std::istringstream space(core::DescribeSpace(spec.search_space));
  for (std::string line; std::getline(space, line);) out << "  " << line << "\n";
  return out.str();
}

}  // namespace sweep::spec