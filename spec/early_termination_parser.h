// Internal: parses the `early_termination` section of a spec. It reads the YAML (keys,
// types) itself and leaves every rule on the values to spec/early_termination.h, whose
// errors it reports at the offending key. Used by spec_parser.cc.
//
// Thread safety: a parse uses only its own Reader.
#pragma once

#include "core/policy_settings.h"
#include "spec/yaml_reader.h"

namespace sweep::spec::internal {

// `field` is the `early_termination` entry of the root mapping; a null value means none.
void ParseEarlyTermination(Reader& reader, const Field& field, core::EarlyTermination& settings);

}  // namespace sweep::spec::internal
