#include "workspace/ignore_rules.h"

#include <fnmatch.h>

#include "absl/strings/str_split.h"

namespace sweep::workspace {
namespace {

// Whether pattern segments [pi..] match path segments [si..]; "**" matches zero or more
// segments, except at the end of the pattern where it needs at least one ("a/**" is what
// is inside a, not a itself).
bool MatchSegments(const std::vector<std::string>& pattern, size_t pi,
                   const std::vector<std::string>& path, size_t si) {
  if (pi == pattern.size()) return si == path.size();
  if (pattern[pi] == "**") {
    if (pi + 1 == pattern.size()) return si < path.size();
    for (size_t k = si; k <= path.size(); ++k) {
      if (MatchSegments(pattern, pi + 1, path, k)) return true;
    }
    return false;
  }
  if (si == path.size()) return false;
  if (::fnmatch(pattern[pi].c_str(), path[si].c_str(), 0) != 0) return false;
  return MatchSegments(pattern, pi + 1, path, si + 1);
}

}  // namespace

IgnoreRules IgnoreRules::Parse(std::string_view text) {
  IgnoreRules out;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    std::string line(raw);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // Trailing spaces go unless escaped with a backslash.
    while (!line.empty() && line.back() == ' ' &&
           !(line.size() >= 2 && line[line.size() - 2] == '\\')) {
      line.pop_back();
    }
    if (line.empty() || line[0] == '#') continue;
    Rule rule;
    if (line[0] == '!') {
      rule.negate = true;
      line.erase(0, 1);
    } else if (line[0] == '\\' && line.size() > 1 && (line[1] == '#' || line[1] == '!')) {
      line.erase(0, 1);
    }
    if (!line.empty() && line.back() == '/') {
      rule.dir_only = true;
      line.pop_back();
    }
    if (line.empty()) continue;
    bool anchored = line.find('/') != std::string::npos;
    if (line[0] == '/') line.erase(0, 1);
    if (line.empty()) continue;
    if (!anchored) rule.segments.push_back("**");
    for (absl::string_view part : absl::StrSplit(line, '/', absl::SkipEmpty())) {
      rule.segments.emplace_back(part);
    }
    out.rules_.push_back(std::move(rule));
  }
  return out;
}

absl::StatusOr<IgnoreRules> IgnoreRules::ForDirectory(const std::string& dir, std::string* source,
                                                      core::Env* env) {
  if (source != nullptr) source->clear();
  for (const char* name : {".amlignore", ".gitignore"}) {
    std::string path = dir + "/" + name;
    if (!env->Exists(path)) continue;
    absl::StatusOr<std::string> text = env->ReadFile(path);
    if (!text.ok()) return absl::InternalError(text.status().message());
    if (source != nullptr) *source = name;
    return Parse(*text);
  }
  return IgnoreRules();
}

bool IgnoreRules::Ignored(const std::string& relative, bool is_dir) const {
  std::vector<std::string> path = absl::StrSplit(relative, '/', absl::SkipEmpty());
  bool ignored = false;
  for (const Rule& rule : rules_) {
    if (rule.dir_only && !is_dir) continue;
    if (MatchSegments(rule.segments, 0, path, 0)) ignored = !rule.negate;
  }
  return ignored;
}

}  // namespace sweep::workspace
