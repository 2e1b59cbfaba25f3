// Internal: a spec document's sections (trial, inputs, compute, sampling, search space,
// objective, early termination, limits, register_model) into a SweepSpec, and the checks
// across sections (grid needs a finite space, command references name known parameters
// and inputs). Used by spec.cc, which reads the YAML text.
//
// Thread safety: a parse uses only its own Reader.
#pragma once

#include "spec/spec.h"
#include "spec/yaml_reader.h"
#include "yaml-cpp/yaml.h"

namespace sweep::spec::internal {

// Parses the root node of a spec document into `spec`, whose base_dir resolves relative
// paths; every problem goes to `reader`.
void ParseSpecDocument(Reader& reader, const YAML::Node& root, SweepSpec& spec);

}  // namespace sweep::spec::internal
