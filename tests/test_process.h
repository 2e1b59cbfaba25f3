// Whether a process of the test's own making still runs (not exited, not a zombie).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <string>

namespace sweep::testutil {

// False once `pid` has exited, even before it is reaped. Reads /proc with read(2), not a
// stream: a process reaped between open and read fails the read with ESRCH, which
// libstdc++'s filebuf would throw as an exception; here it means "gone".
inline bool ProcessAlive(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  const int fd = ::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[4096];
  const ssize_t n = ::read(fd, buffer, sizeof(buffer));
  ::close(fd);
  if (n <= 0) return false;
  const std::string content(buffer, static_cast<size_t>(n));
  const size_t paren = content.rfind(')');  // the command name may itself hold ')'
  return paren != std::string::npos && paren + 2 < content.size() && content[paren + 2] != 'Z';
}

}  // namespace sweep::testutil
