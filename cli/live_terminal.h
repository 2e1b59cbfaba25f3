// Drawing the live view on a terminal: a frame redrawn in place with ANSI cursor
// movement, and single key presses read without echo.
//
// Thread safety: one thread owns a LiveTerminal. The terminal's settings are restored
// when it is destroyed (Ctrl-C is caught by the commands, so destructors run).
#pragma once

#include <termios.h>

#include <optional>
#include <string>
#include <vector>

namespace sweep::cli {

// True when stdout is a terminal (the live view's condition).
bool StdoutIsTerminal();

class LiveTerminal {
 public:
  // Hides the cursor; when stdin is a terminal too, turns off echo and line buffering so
  // single keys can be read (Ctrl-C still raises SIGINT).
  LiveTerminal();
  ~LiveTerminal();  // Finish()
  LiveTerminal(const LiveTerminal&) = delete;
  LiveTerminal& operator=(const LiveTerminal&) = delete;

  // Columns and rows of the terminal now (80 x 24 when unknown).
  int Width() const;
  int Height() const;
  // Replaces the previous frame with `lines` (cut to the terminal's height).
  void Draw(const std::vector<std::string>& lines);
  // Whether keys can be read (stdin is a terminal).
  bool reads_keys() const { return reads_keys_; }
  // A key pressed within `timeout_ms`, if any.
  std::optional<char> ReadKey(int timeout_ms);
  // Leaves the last frame on screen, shows the cursor, restores stdin. Idempotent.
  void Finish();

 private:
  size_t drawn_ = 0;  // lines of the frame on screen
  bool reads_keys_ = false;
  bool finished_ = false;
  termios saved_{};
};

}  // namespace sweep::cli
