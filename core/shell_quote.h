// Quoting for a POSIX shell (sh, bash): the one place values are made safe to paste
// into a shell command line, for the SSH provider's remote commands and for trial
// commands that run through a shell.
//
// Thread safety: pure function.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace sweep::core {

// `word` as one single-quoted shell word: '...' with each embedded ' written as '\''.
// The shell reads it back as exactly `word` (one word, never expanded or run), whatever
// it holds: blanks, newlines, ;, $(...), backquotes, globs. "" becomes ''.
std::string ShellQuote(absl::string_view word);

}  // namespace sweep::core
