#include "spec/early_termination_parser.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "spec/early_termination.h"

namespace sweep::spec::internal {
namespace {

using core::PolicyType;

constexpr PolicyType kTypes[] = {PolicyType::kNone, PolicyType::kBandit,
                                 PolicyType::kMedianStopping, PolicyType::kTruncationSelection,
                                 PolicyType::kAsha};

bool Contains(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// The keys `type` takes, in the order of the messages.
std::vector<std::string> KeysOf(PolicyType type) {
  std::vector<std::string> keys;
  for (const PolicySetting& s : PolicySettings(type)) keys.push_back(s.key);
  if (type != PolicyType::kNone) {
    keys.push_back("evaluation_interval");
    keys.push_back("delay_evaluation");
  }
  return keys;
}

// Reports each key of `m` that `type` does not take: a setting of another policy, or an
// unknown key with a close match.
void CheckKeys(Reader& r, const Field& f, const Mapping& m, PolicyType type) {
  const std::vector<std::string> allowed = KeysOf(type);
  std::vector<std::string> every_key = {"type", "evaluation_interval", "delay_evaluation"};
  for (PolicyType t : kTypes) {
    for (const PolicySetting& s : PolicySettings(t)) every_key.push_back(s.key);
  }
  const std::string name = core::PolicyTypeName(type);
  for (const Field& k : m.fields()) {
    if (k.key == "type" || Contains(allowed, k.key)) continue;
    std::string message;
    if (Contains(every_key, k.key)) {
      message = NotASettingOf(k.key, type);
    } else {
      message = absl::StrCat("unknown key ", Quote(k.key));
      if (auto close = ClosestMatch(k.key, every_key)) {
        absl::StrAppend(&message, " (did you mean ", Quote(*close), "?)");
      }
    }
    absl::StrAppend(&message, allowed.empty() ? absl::StrCat("; ", name, " has no settings")
                                              : absl::StrCat("; ", name, " takes ",
                                                             absl::StrJoin(allowed, ", ")));
    r.Error(k.key_loc, f.path, message);
  }
}

const char* WhatOf(PolicyType type, const std::string& key) {
  for (const PolicySetting& s : PolicySettings(type)) {
    if (key == s.key) return s.what;
  }
  return "";
}

}  // namespace

void ParseEarlyTermination(Reader& r, const Field& f, core::EarlyTermination& et) {
  if (f.value.IsNull()) return;
  std::vector<std::string> names;
  for (PolicyType t : kTypes) names.push_back(core::PolicyTypeName(t));
  std::optional<std::string> type;
  std::optional<Mapping> m;
  if (f.value.IsScalar()) {
    type = Keyword(r, f, names);
  } else {
    m.emplace(r, f.value, f.path, f.loc, "a mapping such as {type: bandit, slack_factor: 0.1}");
    if (!m->ok()) return;
    if (const Field* t = m->Require("type", absl::StrJoin(names, ", "))) {
      type = Keyword(r, *t, names);
    }
  }
  if (!type) return;
  for (PolicyType t : kTypes) {
    if (*type == core::PolicyTypeName(t)) et.type = t;
  }
  if (m) CheckKeys(r, f, *m, et.type);

  // The values, read for their types only: what they may be is the rule set's.
  const std::vector<std::string> allowed = KeysOf(et.type);
  auto get = [&](const std::string& key) -> const Field* {
    return m && Contains(allowed, key) ? m->Get(key) : nullptr;
  };
  bool read_ok = true;
  auto read = [&](const char* key, auto& out, auto reader) {
    if (const Field* k = get(key)) {
      if (auto v = (r.*reader)(*k)) {
        out = *v;
      } else {
        read_ok = false;
      }
    }
  };
  read("evaluation_interval", et.evaluation_interval, &Reader::Integer);
  read("delay_evaluation", et.delay_evaluation, &Reader::Integer);
  read("slack_factor", et.slack_factor, &Reader::FiniteNumber);
  read("slack_amount", et.slack_amount, &Reader::FiniteNumber);
  read("truncation_percentage", et.truncation_percentage, &Reader::Integer);
  read("exclude_finished_jobs", et.exclude_finished_jobs, &Reader::Bool);
  read("reduction_factor", et.reduction_factor, &Reader::FiniteNumber);
  read("min_interval", et.min_interval, &Reader::Integer);
  read("max_interval", et.max_interval, &Reader::Integer);
  if (!read_ok) return;  // the rules would only restate what the reader reported

  const Location policy_loc = m ? m->loc() : f.loc;
  for (const PolicyRuleError& e : EarlyTerminationRuleErrors(et)) {
    const Field* k = e.key.empty() ? nullptr : get(e.key);
    if (e.about_value && k == nullptr) {
      // Left out, and its default breaks the rule: a required setting.
      const char* what = WhatOf(et.type, e.key);
      r.Error(policy_loc, f.path,
              absl::StrCat("missing required key ", Quote(e.key), *what ? " (" : "", what,
                           *what ? ")" : ""));
    } else if (e.about_value) {
      r.Error(k->loc, k->path, e.message);
    } else {
      r.Error(k ? k->key_loc : policy_loc, f.path, e.message);
    }
  }
}

}  // namespace sweep::spec::internal
