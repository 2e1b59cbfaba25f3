// Internal: a spec's `trial` (written inline, or a command component file named by
// `trial: file:./component.yml`), its top-level `outputs`, and the checks that bind them
// to `inputs` and `search_space`: component input defaults < the job's `inputs` < the
// search_space key of the same name, input types, and the ${{...}} references of the
// command. Used by spec_parser.cc.
//
// Thread safety: a parse uses only its own Readers.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "spec/search_space_parser.h"
#include "spec/spec.h"
#include "spec/yaml_reader.h"

namespace sweep::spec::internal {

// `path` made absolute against `base_dir` and normalised (no trailing '/').
std::string Absolute(const std::string& base_dir, const std::string& path);
// `azureml:` references and URLs.
bool IsRemote(absl::string_view path);

// A component input.
struct ComponentInput {
  std::string type;  // number, integer, string, boolean, uri_file, uri_folder
  std::optional<Scalar> default_value;
  bool optional = false;
  std::optional<double> min, max;
  std::vector<std::string> allowed;  // `enum`
  Location loc;
};

class TrialParser {
 public:
  TrialParser(Reader& reader, std::string base_dir);
  ~TrialParser();

  // `trial:` of the root mapping.
  void ParseTrial(const Field& f, SweepSpec& spec);
  // `outputs:` of the root mapping.
  void ParseOutputs(const Field& f, SweepSpec& spec);
  // After inputs and search_space are parsed: binds a component's inputs (filling
  // spec.inputs and spec.trial.search_space_inputs), checks types and references.
  // `job_inputs`: the entries of the job's `inputs`.
  void Check(SweepSpec& spec, const ParsedSpace& parsed, const std::vector<Field>& job_inputs);
  // Moves the component file's errors into the spec's diagnostics. Call last.
  void Finish();

 private:
  // Keys of an inline trial or of a component, read with `r` against `base_dir`.
  void ParseCommand(Reader& r, const Field& f, SweepSpec& spec);
  void ParseCode(Reader& r, const Field& f, const std::string& base_dir, SweepSpec& spec);
  void ParseEnvironment(Reader& r, const Field& f, SweepSpec& spec);
  void ParseEnvironmentVariables(Reader& r, const Field& f, SweepSpec& spec);
  void HintResources(const Field& f, SweepSpec& spec);
  void HintDistribution(const Field& f, SweepSpec& spec);
  void Hint(const Field& f, const std::string& text, SweepSpec& spec);
  void ParseComponentFile(const Field& f, const std::string& written, SweepSpec& spec);
  void ParseComponent(const YAML::Node& root, SweepSpec& spec);
  void ParseComponentInputs(const Field& f);
  void ParseComponentOutputs(const Field& f, SweepSpec& spec);
  void BindJobInputs(SweepSpec& spec, const std::vector<Field>& job_inputs);
  void BindSearchSpace(SweepSpec& spec, const ParsedSpace& parsed);
  void CheckCommandReferences(const SweepSpec& spec, const ParsedSpace& parsed);
  std::string ComponentName() const;
  std::string InputList() const;

  Reader& r_;
  std::string base_dir_;
  std::optional<Field> trial_field_;
  // The component file, when the trial is one.
  std::string component_path_;
  std::string component_dir_;
  std::unique_ptr<Diagnostics> component_diagnostics_;
  std::unique_ptr<Reader> component_reader_;
  std::unique_ptr<std::string> component_text_;
  std::map<std::string, ComponentInput> inputs_;
  // Where the command was written, for reference errors.
  Reader* command_reader_ = nullptr;
  std::optional<Field> command_field_;
  bool command_ok_ = false;
};

}  // namespace sweep::spec::internal
