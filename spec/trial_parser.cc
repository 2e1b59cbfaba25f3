#include "spec/trial_parser.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "spec/asset_names.h"
#include "spec/command.h"

namespace sweep::spec::internal {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kInputTypes = {"number",  "integer",  "string",
                                              "boolean", "uri_file", "uri_folder"};
const std::vector<std::string> kOutputTypes = {"uri_folder", "uri_file", "mlflow_model",
                                               "custom_model", "mltable"};

constexpr char kEnvironmentHelp[] =
    "create an equivalent workspace environment, e.g. `sweep environment create sklearn-env "
    "--setup 'python3 -m venv \"$SWEEP_ENV_DIR\" && \"$SWEEP_ENV_DIR/bin/pip\" install "
    "scikit-learn'` (or `--user-managed --python /usr/bin/python3` for a node that has what "
    "it needs), and write `environment: azureml:sklearn-env`";

// A scalar as the text the command gets.
std::string ScalarText(const Scalar& s) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return "";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else {
          return core::ParamValueToString(core::ParamValue(v));
        }
      },
      s);
}

std::optional<double> AsNumber(const core::ParamValue& v) {
  if (const int64_t* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const double* d = std::get_if<double>(&v)) return *d;
  double parsed = 0;
  if (const std::string* s = std::get_if<std::string>(&v); s && absl::SimpleAtod(*s, &parsed)) {
    return parsed;
  }
  return std::nullopt;
}

// Why `value` cannot be the value of `input`; "" when it can.
std::string Misfit(const core::ParamValue& value, const ComponentInput& input) {
  const std::string text = core::ParamValueToString(value);
  const std::string shown = absl::StrCat("'", text, "'");
  const std::string& type = input.type;
  if (type == "string") {
    if (!input.allowed.empty() &&
        std::find(input.allowed.begin(), input.allowed.end(), text) == input.allowed.end()) {
      return absl::StrCat(shown, " is not one of its enum values (",
                          absl::StrJoin(input.allowed, ", "), ")");
    }
    return "";
  }
  if (type == "uri_file" || type == "uri_folder") {
    return std::holds_alternative<std::string>(value) ? "" : absl::StrCat(shown, " is not a path");
  }
  if (type == "boolean") {
    if (std::holds_alternative<bool>(value)) return "";
    std::string lower = absl::AsciiStrToLower(text);
    return std::holds_alternative<std::string>(value) && (lower == "true" || lower == "false")
               ? ""
               : absl::StrCat(shown, " is not a boolean (true or false)");
  }
  std::optional<double> number =
      std::holds_alternative<bool>(value) ? std::nullopt : AsNumber(value);
  if (!number) return absl::StrCat(shown, " is not a number");
  if (type == "integer" && *number != std::floor(*number)) {
    return absl::StrCat(shown, " is not an integer");
  }
  if (input.min && *number < *input.min) {
    return absl::StrCat(shown, " is below its min ", core::ParamValueToString(*input.min));
  }
  if (input.max && *number > *input.max) {
    return absl::StrCat(shown, " is above its max ", core::ParamValueToString(*input.max));
  }
  return "";
}

std::optional<core::ParamValue> ToParamValue(const Scalar& s) {
  if (const bool* b = std::get_if<bool>(&s)) return core::ParamValue(*b);
  if (const int64_t* i = std::get_if<int64_t>(&s)) return core::ParamValue(*i);
  if (const double* d = std::get_if<double>(&s)) return core::ParamValue(*d);
  if (const std::string* t = std::get_if<std::string>(&s)) return core::ParamValue(*t);
  return std::nullopt;
}

// Why the range a numeric distribution draws from leaves `input`'s min/max; "" when it
// stays inside. Quantized kinds may round to half a step past their bounds.
std::string RangeMisfit(const core::ParamSpec& p, const ComponentInput& input) {
  if (!input.min && !input.max) return "";
  const std::string kind = core::ParamKindName(p.kind);
  if (core::IsNormal(p.kind)) {
    return absl::StrCat(kind, " draws unbounded values, but the input has a ",
                        input.min ? "min" : "max", " (use a bounded kind such as uniform)");
  }
  double lo = 0, hi = 0;
  if (p.kind == core::ParamKind::kRandint) {
    hi = static_cast<double>(p.upper - 1);
  } else {
    lo = p.min_value;
    hi = p.max_value;
    if (core::IsLogScaled(p.kind)) {
      lo = std::exp(lo);
      hi = std::exp(hi);
    }
    lo = core::Quantize(p.kind, p.q, lo);
    hi = core::Quantize(p.kind, p.q, hi);
  }
  const std::string range = absl::StrCat(kind, " draws values in [", lo, ", ", hi, "]");
  if (input.min && lo < *input.min) {
    return absl::StrCat(range, ", below its min ", core::ParamValueToString(*input.min));
  }
  if (input.max && hi > *input.max) {
    return absl::StrCat(range, ", above its max ", core::ParamValueToString(*input.max));
  }
  return "";
}

// Why the values `param` draws cannot fill `input`; "" when they can.
std::string ParamMisfit(const core::ParamSpec& p, const ComponentInput& input) {
  if (p.kind == core::ParamKind::kChoice) {
    for (const core::ChoiceOption& o : p.options) {
      if (std::string why = Misfit(o.value, input); !why.empty()) return why;
    }
    return "";
  }
  const std::string kind = core::ParamKindName(p.kind);
  if (input.type == "string" && input.allowed.empty()) return "";
  if (input.type != "number" && input.type != "integer") {
    return absl::StrCat(kind, " draws numbers, not ",
                        input.type == "boolean" ? "booleans" : "paths or enum values");
  }
  if (input.type == "integer" && p.kind != core::ParamKind::kRandint &&
      !(core::IsQuantized(p.kind) && p.q == std::floor(p.q))) {
    return absl::StrCat(kind, " draws fractional numbers (use randint, choice, or a quantized ",
                        "kind with an integral q)");
  }
  return RangeMisfit(p, input);
}

void AddParams(const std::vector<core::ParamSpec>& params,
               std::map<std::string, std::vector<const core::ParamSpec*>>& out) {
  for (const core::ParamSpec& p : params) {
    out[p.name].push_back(&p);
    for (const core::ChoiceOption& o : p.options) AddParams(o.subspace, out);
  }
}

// The type of output `o` (uri_folder when not given); nullopt after reporting a bad name.
std::optional<std::string> OutputType(Reader& r, const Field& o,
                                      const std::vector<std::string>& keys) {
  if (!IsValidName(o.key)) {
    r.Error(o.key_loc, o.path,
            "invalid output name: use letters, digits and '_', not starting with a digit");
    return std::nullopt;
  }
  std::string type = "uri_folder";
  if (o.value.IsMap()) {
    Mapping om(r, o.value, o.path, o.loc);
    om.CheckKeys(keys);
    if (const Field* t = om.Get("type")) {
      if (std::optional<std::string> v = Keyword(r, *t, kOutputTypes)) type = *v;
    }
  }
  return type;
}

}  // namespace

std::string Absolute(const std::string& base_dir, const std::string& path) {
  fs::path p(path);
  if (p.is_absolute()) return p.lexically_normal().string();
  std::string out = (fs::path(base_dir) / p).lexically_normal().string();
  // "dir/." normalises to "dir/"; drop the trailing separator for stable paths.
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool IsRemote(absl::string_view path) {
  return absl::StartsWith(path, "azureml:") || absl::StrContains(path, "://");
}

TrialParser::TrialParser(Reader& reader, std::string base_dir)
    : r_(reader), base_dir_(std::move(base_dir)) {}

TrialParser::~TrialParser() = default;

std::string TrialParser::ComponentName() const {
  return absl::StrCat("component ", component_path_);
}

std::string TrialParser::InputList() const {
  std::vector<std::string> names;
  for (const auto& [name, input] : inputs_) names.push_back(name);
  return names.empty() ? "it has no inputs"
                       : absl::StrCat("its inputs: ", absl::StrJoin(names, ", "));
}

void TrialParser::ParseTrial(const Field& f, SweepSpec& spec) {
  trial_field_ = f;
  if (f.value.IsScalar()) {
    std::string text(absl::StripAsciiWhitespace(f.value.Scalar()));
    if (absl::StartsWith(text, "azureml:")) {
      r_.Error(f.loc, f.path,
               absl::StrCat(Quote(text),
                            " is a registered component, which Sweep cannot fetch: keep the "
                            "component's YAML next to the spec and write `trial: "
                            "file:./component.yml`"));
      return;
    }
    if (absl::StartsWith(text, "file:")) {
      text = text.substr(5);
    } else if (!absl::EndsWith(text, ".yml") && !absl::EndsWith(text, ".yaml")) {
      r_.Error(f.loc, f.path,
               absl::StrCat("must be a mapping, got the string ", Quote(text),
                            " (write the command under `trial.command`, or `trial: "
                            "file:./component.yml` for a command component)"));
      return;
    }
    if (text.empty()) {
      r_.Error(f.loc, f.path, "names no file: write `trial: file:./component.yml`");
      return;
    }
    ParseComponentFile(f, text, spec);
    return;
  }
  Mapping m(r_, f.value, f.path, f.loc,
            "a mapping (command, code, environment, ...) or `file:PATH` of a command component");
  if (!m.ok()) return;
  m.CheckKeys(
      {"command", "code", "environment", "environment_variables", "resources", "distribution"});
  if (const Field* c = m.Require("command", "e.g. `python train.py --lr ${{search_space.lr}}`")) {
    ParseCommand(r_, *c, spec);
  }
  if (const Field* c = m.Get("code")) ParseCode(r_, *c, base_dir_, spec);
  if (const Field* e = m.Get("environment")) ParseEnvironment(r_, *e, spec);
  if (const Field* e = m.Get("environment_variables")) ParseEnvironmentVariables(r_, *e, spec);
  if (const Field* e = m.Get("resources")) HintResources(*e, spec);
  if (const Field* e = m.Get("distribution")) HintDistribution(*e, spec);
}

void TrialParser::ParseCommand(Reader& r, const Field& c, SweepSpec& spec) {
  std::optional<std::string> command = r.String(c);
  if (!command) return;
  spec.trial.command = *command;
  command_field_ = c;
  command_reader_ = &r;
  absl::StatusOr<std::vector<CommandWord>> words = SplitCommand(*command);
  if (!words.ok()) {
    r.Error(c.loc, c.path, words.status().message());
  } else if (words->empty()) {
    r.Error(c.loc, c.path, "must not be empty");
  } else {
    command_ok_ = true;
  }
}

void TrialParser::ParseCode(Reader& r, const Field& c, const std::string& base_dir,
                            SweepSpec& spec) {
  if (c.value.IsMap()) {
    // The older form `code: {local_path: src}`.
    const YAML::Node local = c.value["local_path"];
    r.Error(c.loc, c.path,
            local && local.IsScalar()
                ? absl::StrCat("`code: {local_path: ", local.Scalar(),
                               "}` is an older form; write `code: ", local.Scalar(), "`")
                : std::string("must be a local directory, e.g. `code: src`"));
    return;
  }
  std::optional<std::string> code = r.String(c);
  if (!code) return;
  if (code->empty()) {
    r.Error(c.loc, c.path, "must not be empty (omit `code` when there is none)");
  } else if (IsRemote(*code)) {
    r.Error(c.loc, c.path,
            absl::StrCat("only a local directory can be snapshotted, got ", Quote(*code)));
  } else {
    std::string abs = Absolute(base_dir, *code);
    std::error_code ec;
    if (!fs::exists(abs, ec)) {
      r.Error(c.loc, c.path,
              absl::StrCat(Quote(*code), " does not exist (looked for ", abs, "; relative paths ",
                           &r == &r_ ? "start at the spec's directory)"
                                     : "start at the component file's directory)"));
    } else {
      spec.trial.code = abs;
    }
  }
}

void TrialParser::ParseEnvironment(Reader& r, const Field& e, SweepSpec& spec) {
  if (e.value.IsMap()) {
    r.Error(e.loc, e.path,
            absl::StrCat("inline environment definitions are not supported; name a workspace "
                         "environment (azureml:NAME) or omit `environment` to use the node's "
                         "own environment; to turn this definition into one, ",
                         kEnvironmentHelp));
    return;
  }
  std::optional<std::string> env = r.String(e);
  if (!env) return;
  std::string lower = absl::AsciiStrToLower(*env);
  if (absl::StartsWith(lower, "azureml://registries/")) {
    r.Error(e.loc, e.path,
            absl::StrCat(Quote(*env),
                         " is an environment of an Azure ML registry, which Sweep cannot reach; ",
                         kEnvironmentHelp));
    return;
  }
  // Syntax only; whether it exists is the controller's job (spec/ has no store).
  absl::StatusOr<EnvironmentRef> ref = ParseEnvironmentRef(*env);
  if (!ref.ok()) {
    r.Error(e.loc, e.path, ref.status().message());
    return;
  }
  spec.trial.environment = *env;
  if (IsCuratedEnvironmentName(ref->name)) {
    // It runs unchanged once the workspace has an environment of that name.
    Hint(e,
         absl::StrCat(Quote(*env),
                      " is an Azure ML curated environment; it runs here only as a workspace "
                      "environment of the same name (`sweep environment create ",
                      ref->name, " --user-managed` or `--setup 'COMMAND'`)"),
         spec);
  }
}

void TrialParser::ParseEnvironmentVariables(Reader& r, const Field& f, SweepSpec& spec) {
  if (f.value.IsNull()) return;
  Mapping m(r, f.value, f.path, f.loc, "a mapping NAME: value");
  for (const Field& v : m.fields()) {
    if (!IsValidName(v.key)) {
      r.Error(v.key_loc, v.path,
              "invalid variable name: use letters, digits and '_', not starting with a digit");
    } else if (!v.value.IsScalar()) {
      r.Error(v.loc, v.path, "must be a value (text or number)");
    } else {
      spec.trial.environment_variables[v.key] = v.value.Scalar();
    }
  }
}

void TrialParser::Hint(const Field& f, const std::string& text, SweepSpec& spec) {
  // spec.cc's Parse puts the spec's name in front; a component's keys are named by file.
  if (component_reader_) {
    spec.hints.push_back(absl::StrCat(trial_field_->loc.line, ":", trial_field_->loc.column,
                                      ": trial: ", ComponentName(), ": ", f.path, ": ", text));
  } else {
    spec.hints.push_back(absl::StrCat(f.loc.line, ":", f.loc.column, ": ", f.path, ": ", text));
  }
}

void TrialParser::HintResources(const Field& f, SweepSpec& spec) {
  std::string count;
  if (f.value.IsMap() && f.value["instance_count"] && f.value["instance_count"].IsScalar()) {
    count = f.value["instance_count"].Scalar();
  }
  Hint(f,
       absl::StrCat("accepted and not applied: each trial runs as one process tree on one node "
                    "of the compute target, sized by the target's vm size",
                    count.empty() || count == "1"
                        ? std::string()
                        : absl::StrCat(" (instance_count ", count, " is not honoured: one node)"),
                    "; shm_size, docker_args and properties are ignored"),
       spec);
}

void TrialParser::HintDistribution(const Field& f, SweepSpec& spec) {
  std::string type;
  if (f.value.IsMap() && f.value["type"] && f.value["type"].IsScalar()) {
    type = absl::AsciiStrToLower(f.value["type"].Scalar());
  }
  Hint(f,
       absl::StrCat("accepted and not applied: Sweep starts the command once per trial on one "
                    "node and does not launch ",
                    type.empty() ? "distributed" : type,
                    " workers or set their variables (MASTER_ADDR, WORLD_SIZE, RANK, "
                    "TF_CONFIG...); a command that starts its own workers (e.g. torchrun "
                    "--nproc_per_node N) still works on that node"),
       spec);
}

void TrialParser::ParseOutputs(const Field& f, SweepSpec& spec) {
  if (f.value.IsNull()) return;
  Mapping m(r_, f.value, f.path, f.loc, "a mapping NAME: {type: uri_folder}");
  for (const Field& o : m.fields()) {
    std::optional<std::string> type =
        OutputType(r_, o, {"type", "mode", "path", "description", "name", "version"});
    if (!type) continue;
    if (!o.value.IsNull() && !o.value.IsMap()) {
      r_.Error(o.loc, o.path, "must be empty or a mapping {type: uri_folder}");
      continue;
    }
    if (o.value.IsMap() && o.value["path"]) {
      Location loc = r_.Loc(o.value["path"], o.loc);
      spec.hints.push_back(absl::StrCat(
          loc.line, ":", loc.column, ": ", o.path, ".path: not used: ${{outputs.", o.key,
          "}} is the directory outputs/", o.key,
          " of each attempt, uploaded with the trial's artifacts (`sweep artifacts`)"));
    }
    auto it = spec.trial.outputs.find(o.key);
    if (component_reader_ && it == spec.trial.outputs.end()) {
      r_.Error(o.key_loc, o.path, absl::StrCat("names no output of ", ComponentName()));
      continue;
    }
    if (it == spec.trial.outputs.end() || o.value.IsMap()) spec.trial.outputs[o.key] = *type;
  }
}

void TrialParser::ParseComponentFile(const Field& f, const std::string& written, SweepSpec& spec) {
  component_path_ = Absolute(base_dir_, written);
  std::ifstream in(component_path_);
  std::error_code ec;
  if (!in || fs::is_directory(component_path_, ec)) {
    r_.Error(f.loc, f.path,
             absl::StrCat("component file ", Quote(written), " cannot be read (looked for ",
                          component_path_, "; relative paths start at the spec's directory)"));
    return;
  }
  component_dir_ = fs::path(component_path_).parent_path().string();
  std::ostringstream text;
  text << in.rdbuf();
  component_text_ = std::make_unique<std::string>(text.str());
  component_diagnostics_ = std::make_unique<Diagnostics>(component_path_);
  component_reader_ = std::make_unique<Reader>(*component_diagnostics_, component_text_.get());
  spec.trial.component = component_path_;
  YAML::Node root;
  try {
    root = YAML::Load(*component_text_);
  } catch (const YAML::Exception& e) {
    Location loc;
    if (!e.mark.is_null() && e.mark.line >= 0) loc = {e.mark.line + 1, e.mark.column + 1};
    component_reader_->Error(loc, "", absl::StrCat("YAML syntax error: ", e.msg));
    return;
  }
  try {
    ParseComponent(root, spec);
  } catch (const YAML::Exception& e) {
    component_reader_->Error({1, 1}, "", absl::StrCat("cannot read the component: ", e.what()));
  }
}

void TrialParser::ParseComponent(const YAML::Node& root, SweepSpec& spec) {
  Reader& r = *component_reader_;
  Mapping m(r, root, "", Location{1, 1}, "a command component (type: command, command, ...)");
  if (!m.ok()) return;
  m.CheckKeys({"$schema", "type", "name", "display_name", "version", "description", "tags",
               "is_deterministic", "inputs", "outputs", "code", "environment", "command",
               "environment_variables", "resources", "distribution"});
  if (const Field* t = m.Get("type");
      t && t->value.IsScalar() && absl::AsciiStrToLower(t->value.Scalar()) != "command") {
    r.Error(t->loc, t->path,
            absl::StrCat("must be 'command', got ", Quote(t->value.Scalar()),
                         " (only a command component can be a sweep's trial)"));
  }
  if (const Field* c = m.Require("command", "the command each trial runs")) {
    ParseCommand(r, *c, spec);
  }
  if (const Field* c = m.Get("code")) ParseCode(r, *c, component_dir_, spec);
  if (const Field* e = m.Get("environment")) ParseEnvironment(r, *e, spec);
  if (const Field* e = m.Get("environment_variables")) ParseEnvironmentVariables(r, *e, spec);
  if (const Field* e = m.Get("resources")) HintResources(*e, spec);
  if (const Field* e = m.Get("distribution")) HintDistribution(*e, spec);
  if (const Field* i = m.Get("inputs")) ParseComponentInputs(*i);
  if (const Field* o = m.Get("outputs")) ParseComponentOutputs(*o, spec);
}

void TrialParser::ParseComponentInputs(const Field& f) {
  Reader& r = *component_reader_;
  if (f.value.IsNull()) return;
  Mapping m(r, f.value, f.path, f.loc, "a mapping NAME: {type: ..., default: ...}");
  for (const Field& in : m.fields()) {
    if (!IsValidName(in.key)) {
      r.Error(in.key_loc, in.path,
              "invalid input name: use letters, digits and '_', not starting with a digit");
      continue;
    }
    Mapping im(r, in.value, in.path, in.loc, "a mapping {type: number, default: 1}");
    if (!im.ok()) continue;
    im.CheckKeys({"type", "default", "optional", "description", "min", "max", "enum", "mode"});
    ComponentInput input;
    input.loc = in.key_loc;
    const Field* t = im.Require("type", "number, integer, string, boolean, uri_file or uri_folder");
    std::optional<std::string> type = t ? Keyword(r, *t, kInputTypes) : std::nullopt;
    if (!type) continue;
    input.type = *type;
    if (const Field* o = im.Get("optional")) input.optional = r.Bool(*o).value_or(false);
    if (const Field* v = im.Get("min")) input.min = r.FiniteNumber(*v);
    if (const Field* v = im.Get("max")) input.max = r.FiniteNumber(*v);
    if (const Field* e = im.Get("enum"); e && e->value.IsSequence()) {
      for (const YAML::Node& n : e->value) {
        if (n.IsScalar()) input.allowed.push_back(n.Scalar());
      }
    } else if (e) {
      r.Error(e->loc, e->path, "must be a list of values");
    }
    if (const Field* d = im.Get("default"); d && !d->value.IsNull()) {
      // A bad default is reported; the input still exists (no cascade of errors).
      std::optional<Scalar> s = ResolveScalar(d->value);
      std::optional<core::ParamValue> v = s ? ToParamValue(*s) : std::nullopt;
      if (!v) {
        r.Error(d->loc, d->path, "must be a value");
      } else if (std::string why = Misfit(*v, input); !why.empty()) {
        r.Error(d->loc, d->path, absl::StrCat(why, " (the input's type is ", input.type, ")"));
      } else {
        input.default_value = *s;
      }
    }
    inputs_[in.key] = std::move(input);
  }
}

void TrialParser::ParseComponentOutputs(const Field& f, SweepSpec& spec) {
  Reader& r = *component_reader_;
  if (f.value.IsNull()) return;
  Mapping m(r, f.value, f.path, f.loc, "a mapping NAME: {type: uri_folder}");
  for (const Field& o : m.fields()) {
    if (std::optional<std::string> type = OutputType(r, o, {"type", "mode", "description"})) {
      spec.trial.outputs[o.key] = *type;
    }
  }
}

void TrialParser::BindJobInputs(SweepSpec& spec, const std::vector<Field>& job_inputs) {
  std::vector<std::string> names;
  for (const auto& [name, input] : inputs_) names.push_back(name);
  for (const Field& in : job_inputs) {
    auto it = inputs_.find(in.key);
    if (it == inputs_.end()) {
      std::string message =
          absl::StrCat("names no input of ", ComponentName(), " (", InputList(), ")");
      if (auto close = ClosestMatch(in.key, names)) {
        absl::StrAppend(&message, "; did you mean ", Quote(*close), "?");
      }
      r_.Error(in.key_loc, in.path, message);
      continue;
    }
    const ComponentInput& input = it->second;
    std::string why;
    if (in.value.IsMap()) {
      if (input.type != "uri_file" && input.type != "uri_folder") {
        why = absl::StrCat("a data input {type, path} cannot fill an input of type ", input.type);
      }
    } else if (std::optional<Scalar> s = ResolveScalar(in.value)) {
      std::optional<core::ParamValue> v = ToParamValue(*s);
      why = v ? Misfit(*v, input) : "has no value";
    }
    if (!why.empty()) {
      r_.Error(in.loc, in.path,
               absl::StrCat(why, " (input ", Quote(in.key), " of ", ComponentName(), " is of type ",
                            input.type, ")"));
    }
  }
  for (const auto& [name, input] : inputs_) {
    if (spec.inputs.count(name) > 0 || !input.default_value) continue;
    std::string text = ScalarText(*input.default_value);
    bool local_path = (input.type == "uri_file" || input.type == "uri_folder") && !IsRemote(text);
    spec.inputs[name] = local_path ? Absolute(component_dir_, text) : text;
  }
}

void TrialParser::BindSearchSpace(SweepSpec& spec, const ParsedSpace& parsed) {
  std::map<std::string, std::vector<const core::ParamSpec*>> params;
  AddParams(spec.search_space.params, params);
  std::vector<std::string> names;
  for (const auto& [name, input] : inputs_) names.push_back(name);
  for (const ParamSite& site : parsed.sites) {
    auto it = inputs_.find(site.name);
    if (it == inputs_.end()) {
      std::string message =
          absl::StrCat("search_space key ", Quote(site.name), " names no input of ",
                       ComponentName(), " (", InputList(), ")");
      if (auto close = ClosestMatch(site.name, names)) {
        absl::StrAppend(&message, "; did you mean ", Quote(*close), "?");
      }
      r_.Error(site.loc, site.path, message);
      continue;
    }
    spec.trial.search_space_inputs.insert(site.name);
    spec.inputs.erase(site.name);  // the sampled value wins over a default or the job's
    for (const core::ParamSpec* p : params[site.name]) {
      if (std::string why = ParamMisfit(*p, it->second); !why.empty()) {
        r_.Error(site.loc, site.path,
                 absl::StrCat("cannot fill input ", Quote(site.name), " of ", ComponentName(),
                              ", of type ", it->second.type, ": ", why));
        break;
      }
    }
  }
  for (const auto& [name, input] : inputs_) {
    if (input.optional || spec.inputs.count(name) > 0 ||
        spec.trial.search_space_inputs.count(name) > 0) {
      continue;
    }
    r_.Error(trial_field_->loc, trial_field_->path,
             absl::StrCat("input ", Quote(name), " of ", ComponentName(),
                          " has no value: give it a `default` in the component, a value under "
                          "the sweep job's `inputs`, or a search_space key ",
                          Quote(name)));
  }
}

void TrialParser::Check(SweepSpec& spec, const ParsedSpace& parsed,
                        const std::vector<Field>& job_inputs) {
  if (component_reader_) {
    BindJobInputs(spec, job_inputs);
    BindSearchSpace(spec, parsed);
  }
  CheckCommandReferences(spec, parsed);
}

void TrialParser::CheckCommandReferences(const SweepSpec& spec, const ParsedSpace& parsed) {
  if (!command_field_ || !command_ok_) return;
  std::set<std::string> params;
  for (const ParamSite& site : parsed.sites) params.insert(site.name);
  std::set<std::string> inputs = spec.trial.search_space_inputs;
  for (const auto& [name, value] : spec.inputs) inputs.insert(name);
  // A required input without value is reported on its own (BindSearchSpace).
  for (const auto& [name, input] : inputs_) {
    if (!input.optional) inputs.insert(name);
  }
  std::set<std::string> outputs;
  for (const auto& [name, type] : spec.trial.outputs) outputs.insert(name);
  absl::StatusOr<std::vector<CommandWord>> words = SplitCommand(spec.trial.command);
  const Field& c = *command_field_;
  Reader& r = *command_reader_;
  for (const CommandWord& word : *words) {
    for (const CommandSegment& segment : word.segments) {
      if (!segment.is_reference) continue;
      absl::StatusOr<CommandReference> ref = ParseCommandReference(segment.text);
      if (!ref.ok()) {
        r.Error(c.loc, c.path, ref.status().message());
        continue;
      }
      const char* section = ref->kind == CommandReference::Kind::kSearchSpace ? "search_space"
                            : ref->kind == CommandReference::Kind::kInputs    ? "inputs"
                                                                              : "outputs";
      const std::set<std::string>& known_set =
          ref->kind == CommandReference::Kind::kSearchSpace ? params
          : ref->kind == CommandReference::Kind::kInputs    ? inputs
                                                            : outputs;
      if (known_set.count(ref->name) > 0) continue;
      if (ref->kind == CommandReference::Kind::kInputs && inputs_.count(ref->name) > 0) {
        r.Error(
            c.loc, c.path,
            absl::StrCat("${{inputs.", ref->name, "}} is an optional input of ", ComponentName(),
                         " that has no value here: give it a value under the "
                         "sweep job's `inputs` or a default"));
        continue;
      }
      std::vector<std::string> known(known_set.begin(), known_set.end());
      std::string message =
          ref->kind == CommandReference::Kind::kSearchSpace
              ? absl::StrCat("${{search_space.", ref->name, "}} names no parameter of search_space")
              : absl::StrCat("${{", section, ".", ref->name, "}} names no entry of ", section);
      if (auto close = ClosestMatch(ref->name, known)) {
        absl::StrAppend(&message, " (did you mean ", Quote(*close), "?)");
      }
      r.Error(c.loc, c.path, message);
    }
  }
}

void TrialParser::Finish() {
  if (component_diagnostics_) r_.diagnostics().Merge(*component_diagnostics_);
}

}  // namespace sweep::spec::internal
