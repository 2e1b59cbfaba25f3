// Internal to SqliteStore: domain records from the rows of its queries (columns in the
// order of sqlite_schema.h's SELECTs), and the JSON of the columns that hold lists.
// A decoder that meets an undecodable value records it with Row::Fail and carries on.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/types.h"
#include "store/sqlite_statements.h"

namespace sweep::store::sqlite_internal {

core::ComputeTarget ReadCompute(Row& row);
core::Sweep ReadSweep(Row& row);
core::Trial ReadTrial(Row& row);
core::Attempt ReadAttempt(Row& row);
core::Event ReadEvent(Row& row);
core::Decision ReadDecision(Row& row);
core::Node ReadNode(Row& row);
core::Environment ReadEnvironment(Row& row);
core::Model ReadModel(Row& row);

// Environment files as stored: [{"name": ..., "content_b64": ...}] (contents are bytes,
// which JSON strings cannot carry as they are).
std::string FilesToJson(const std::vector<core::EnvironmentFile>& files);
// Model tags as stored: [[key, value], ...], in their order.
std::string TagsToJson(const std::vector<std::pair<std::string, std::string>>& tags);

}  // namespace sweep::store::sqlite_internal
