// Which files of a code directory a snapshot leaves out: the patterns of its
// `.amlignore`, or failing that its `.gitignore` (only the file at the top of the code
// directory is read), with gitignore semantics:
//   - blank lines and lines starting with '#' are skipped; "\#" and "\!" escape;
//     trailing spaces are dropped;
//   - "!pat" re-includes what an earlier pattern excluded (the last match wins), but a
//     file inside an excluded directory stays excluded (the directory is not entered);
//   - "pat/" matches directories only;
//   - a pattern with a '/' at its start or middle is anchored at the code directory,
//     one without matches a name at any depth;
//   - "**/" matches any number of leading directories, "/**" everything inside, "a/**/b"
//     zero or more directories in between; other wildcards (*, ?, [...]) never match '/'.
// The matching is hand-written on fnmatch(3), one path component at a time, because no
// Debian library exposes gitignore matching to C++ (libgit2 needs a repository).
//
// Thread safety: an IgnoreRules is immutable after construction and may be shared.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/env.h"

namespace sweep::workspace {

class IgnoreRules {
 public:
  IgnoreRules() = default;
  // Parses the text of an ignore file; never fails (like git, odd lines match nothing).
  static IgnoreRules Parse(std::string_view text);

  // Reads `<dir>/.amlignore`, else `<dir>/.gitignore`, else no rules. `source` (may be
  // null) receives the file name used, "" when none. Internal naming the file when it
  // exists but cannot be read.
  static absl::StatusOr<IgnoreRules> ForDirectory(const std::string& dir,
                                                  std::string* source = nullptr,
                                                  core::Env* env = core::Env::Default());

  // Whether `relative` ('/'-separated, relative to the code directory) is ignored.
  // Callers walk top-down and do not enter ignored directories.
  bool Ignored(const std::string& relative, bool is_dir) const;

  bool empty() const { return rules_.empty(); }

 private:
  struct Rule {
    std::vector<std::string> segments;  // pattern split at '/'; "**" is its own segment
    bool negate = false;
    bool dir_only = false;
  };
  std::vector<Rule> rules_;
};

}  // namespace sweep::workspace
