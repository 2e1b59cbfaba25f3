#include "cli/live_terminal.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>

namespace sweep::cli {
namespace {

winsize WindowSize() {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0) {
    ws.ws_col = 80;
    ws.ws_row = 24;
  }
  return ws;
}

}  // namespace

bool StdoutIsTerminal() { return isatty(STDOUT_FILENO) == 1; }

LiveTerminal::LiveTerminal() {
  if (isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &saved_) == 0) {
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);  // ISIG stays: Ctrl-C is SIGINT
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    reads_keys_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  std::cout << "\x1b[?25l" << std::flush;  // hide the cursor
}

LiveTerminal::~LiveTerminal() { Finish(); }

int LiveTerminal::Width() const { return WindowSize().ws_col; }
int LiveTerminal::Height() const { return WindowSize().ws_row; }

void LiveTerminal::Draw(const std::vector<std::string>& lines) {
  // Moving up more lines than the screen has would scroll the frame apart.
  size_t rows = static_cast<size_t>(std::max(2, Height() - 1));
  size_t n = std::min(lines.size(), rows);
  std::string out;
  if (drawn_ > 0) out += "\x1b[" + std::to_string(drawn_) + "A";
  for (size_t i = 0; i < n; ++i) out += "\r\x1b[2K" + lines[i] + "\n";
  out += "\x1b[J";  // clear what the previous, longer frame left
  std::cout << out << std::flush;
  drawn_ = n;
}

std::optional<char> LiveTerminal::ReadKey(int timeout_ms) {
  if (!reads_keys_) return std::nullopt;
  pollfd fd{STDIN_FILENO, POLLIN, 0};
  if (poll(&fd, 1, timeout_ms) <= 0 || (fd.revents & POLLIN) == 0) return std::nullopt;
  char c = 0;
  if (read(STDIN_FILENO, &c, 1) != 1) return std::nullopt;
  return c;
}

void LiveTerminal::Finish() {
  if (finished_) return;
  finished_ = true;
  if (reads_keys_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  std::cout << "\x1b[?25h" << std::flush;  // show the cursor
}

}  // namespace sweep::cli
