#!/usr/bin/env python3
"""Layout rules of the Sweep tree; .ci/check-deps.sh and .ci/check-size.sh call this.

  check_layout.py deps [ROOT]   the dependency rules
  check_layout.py size [ROOT]   the size limits
  check_layout.py all  [ROOT]   both

Exit 0 when every rule holds, 1 otherwise (each offence on its own line, `file:line ...`).

What `deps` enforces (docs: the layout table of the architecture):
  * A source folder's files include headers only of the folders it may use:
        core:       nothing            spec, samplers, policies, store, worker: core
        report:     core policies
        workspace:  core spec store    compute: core workspace
        controller: core spec samplers policies store workspace, and of compute/ only
                    compute/node_provider.h
        rpc:        controller, worker, proto and what those may use
        cli:        anything but generated protobuf
    Includes of a folder's own headers and of third-party headers are always fine.
  * Generated protobuf headers (proto/*.pb.h) are included only in rpc/, and in the tests
    of rpc (tests/unit/rpc/), integration (tests/integration/) and the fuzz targets
    (tests/fuzz/, whose rpc target sends protobuf requests). Otherwise tests/ and
    bench/ are exempt from the folder rules.
  * Each folder's CMake library (sweep_<folder>, in <folder>/CMakeLists.txt) links only the
    sweep_* libraries of the folders it may use (controller links no sweep_compute: it uses
    a header only), and only rpc links sweep_proto.

What `size` enforces on hand-written C++ (*.cc, *.h under the source folders, tests/ and
bench/; tests/data is data, not code):
  * no file over 800 lines;
  * no function over 150 lines, counted from the first line of its declaration to its
    closing brace.
  Entries of .ci/size-exceptions.txt (one `path` or `path:function` a line) are reported
  as warnings instead: known offenders that are being split. An entry that no longer
  offends is reported so that it can be deleted.

Limits of the function scanner (a brace matcher, not a C++ parser; enough for this tree):
  * Comments, string and character literals (raw strings included) and preprocessor lines
    are blanked before braces are counted, so braces inside them never count. Digit
    separators (100'000) are not taken for character literals.
  * Both branches of an #if are scanned: a brace opened differently in each branch would
    unbalance the count (the tree has none).
  * At namespace or class scope, a `{` opens a function body when the declaration before it
    has a `)` followed only by qualifiers (const, noexcept, override, final, ->type, ...),
    or closes a constructor's initializer list. Everything nested in a function (lambdas,
    local classes) counts as part of it. A lambda assigned at namespace scope counts as a
    function; a macro that expands to a function body with no `)` before its `{` would not.
"""

import os
import re
import sys

FOLDERS = ["core", "spec", "samplers", "policies", "report", "store", "workspace", "compute",
           "controller", "rpc", "worker", "cli"]
DIRECT = {
    "core": set(),
    "spec": {"core"},
    "samplers": {"core"},
    "policies": {"core"},
    "report": {"core", "policies"},
    "store": {"core"},
    "workspace": {"core", "spec", "store"},
    "compute": {"core", "workspace"},
    "controller": {"core", "spec", "samplers", "policies", "store", "workspace"},
    "rpc": {"controller", "worker", "proto"},
    "worker": {"core"},
    "cli": set(FOLDERS) - {"cli"},
}
# Single headers a folder may include from a folder it may not use as a whole.
EXTRA_HEADERS = {"controller": {"compute/node_provider.h"}}
TRANSITIVE = {"rpc"}  # "and what those use"
PROTO_TEST_DIRS = ("tests/unit/rpc/", "tests/integration/", "tests/fuzz/")
CODE_DIRS = FOLDERS + ["tests", "bench"]
MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 150


def allowed_folders(folder):
    allowed = set(DIRECT[folder])
    if folder in TRANSITIVE:
        todo = list(allowed)
        while todo:
            dep = todo.pop()
            for more in DIRECT.get(dep, set()):
                if more not in allowed:
                    allowed.add(more)
                    todo.append(more)
    return allowed


def allowed_headers(folder):
    headers = set(EXTRA_HEADERS.get(folder, set()))
    if folder in TRANSITIVE:
        for dep in allowed_folders(folder):
            headers |= EXTRA_HEADERS.get(dep, set())
    return headers


def source_files(root, dirs):
    for top in dirs:
        base = os.path.join(root, top)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d != "data")
            for name in sorted(filenames):
                if name.endswith((".cc", ".h")):
                    path = os.path.join(dirpath, name)
                    yield os.path.relpath(path, root)


INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')


def check_deps(root):
    problems = []
    for rel in source_files(root, CODE_DIRS):
        top = rel.split(os.sep)[0]
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                header = m.group(1)
                target = header.split("/")[0]
                where = f"{rel}:{number} #include \"{header}\""
                if target == "proto" and header.endswith(".pb.h"):
                    if top != "rpc" and not rel.startswith(PROTO_TEST_DIRS):
                        problems.append(f"{where}: generated protobuf outside rpc/")
                    continue
                if top not in FOLDERS or target == top:
                    continue  # tests/, bench/, or the folder's own header
                if target not in FOLDERS and target != "proto":
                    continue  # third-party
                if target in allowed_folders(top) or header in allowed_headers(top):
                    continue
                problems.append(f"{where}: {top}/ may not use {target}/")
    problems += check_links(root)
    return problems


LINK = re.compile(r"target_link_libraries\(\s*(\S+)(.*?)\)", re.S)


def check_links(root):
    problems = []
    for folder in FOLDERS:
        path = os.path.join(folder, "CMakeLists.txt")
        try:
            with open(os.path.join(root, path), encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            continue
        allowed = allowed_folders(folder)
        for m in LINK.finditer(text):
            if m.group(1) != f"sweep_{folder}":
                continue
            line = text.count("\n", 0, m.start()) + 1
            for lib in re.findall(r"\bsweep_(\w+)", m.group(2)):
                if lib not in allowed:
                    problems.append(f"{path}:{line} target_link_libraries(sweep_{folder} ... "
                                    f"sweep_{lib}): {folder}/ may not use {lib}/")
    return problems


def blank_code(text):
    """The text with comments, literals and preprocessor lines replaced by spaces
    (newlines kept, so line numbers stay)."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c in " \t":
            out.append(c)
            i += 1
            continue
        if line_start and c == "#":  # preprocessor line, with continuations
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append(" \n")
                    i += 2
                    continue
                out.append(" ")
                i += 1
            continue
        line_start = False
        if c == "\n":
            out.append(c)
            line_start = True
            i += 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                out.append(" ")
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c == '"' or (c == "'" and not is_digit_separator(text, i)):
            raw = c == '"' and re.search(r"(?:^|[^\w])(?:u8|u|U|L)?R$", text[max(0, i - 3):i])
            if raw:
                m = re.match(r'"([^()\\\s]{0,16})\(', text[i:])
                if m:
                    close = text.find(")" + m.group(1) + '"', i)
                    end = n if close < 0 else close + len(m.group(1)) + 2
                    out.append(re.sub(r"[^\n]", " ", text[i:end]))
                    i = end
                    continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            end = min(j + 1, n)
            out.append(c + " " * (end - i - 2) + c if end - i >= 2 else c)
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out)


def is_digit_separator(text, i):
    j = i
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] == "'"):
        j -= 1
    return j < i and text[j].isdigit()


QUALIFIERS = re.compile(
    r"^(\s*(const|volatile|noexcept(\s*\([^()]*\))?|override|final|mutable|&&?|"
    r"->\s*[\w:<>,*&\s]+?|requires\b.*))*\s*$", re.S)


def opens_function(statement):
    """Whether a `{` after `statement` (text since the last ; { or } at this scope) opens
    a function body."""
    s = statement.strip()
    if not s or s.endswith("=") or re.match(r"(namespace|extern)\b", s):
        return False
    if re.match(r"(template\s*<.*>\s*)?(class|struct|union|enum)\b", s, re.S) and ")" not in s:
        return False
    last = s.rfind(")")
    if last < 0:
        return False
    if QUALIFIERS.match(s[last + 1:]):
        return True
    # A constructor's initializer list: `) : a_(x), b_{y} {`; the body follows a ) or }.
    return bool(re.search(r"\)\s*:(?!:)", s)) and s[-1] in ")}"


def function_name(statement):
    s = re.sub(r"\s+", " ", statement.strip())
    m = re.match(r"(.*?)\(", s)
    head = m.group(1) if m else s
    names = re.findall(r"[~\w:]+(?:operator\s*\S+)?", head)
    return names[-1] if names else "?"


def long_functions(code):
    """(name, first line, line count) of each function at namespace or class scope."""
    found = []
    stack = []  # kinds of the open braces: "scope", "init" or "function"
    statement, start = "", None
    line = 1
    for c in code:
        if c == "\n":
            line += 1
        in_function = "function" in stack
        if c == "{":
            if in_function:
                stack.append("nested")
            elif stack and stack[-1] == "init":
                stack.append("init")
                statement += c
                continue
            elif opens_function(statement):
                stack.append("function")
                found.append([function_name(statement), start or line, None])
            elif re.search(r"[\w>]\s*$|=\s*$|\(\s*$|,\s*$", statement) and not re.match(
                    r"\s*(template\s*<.*>\s*)?(namespace|extern|class|struct|union|enum)\b",
                    statement, re.S):
                stack.append("init")  # a braced initializer at namespace/class scope
                statement += c
                continue
            else:
                stack.append("scope")
            statement, start = "", None
        elif c == "}":
            kind = stack.pop() if stack else "scope"
            if kind == "function":
                found[-1][2] = line - found[-1][1] + 1
                statement, start = "", None
            elif kind == "init":
                statement += c
            elif not in_function:
                statement, start = "", None
        elif not in_function:
            if c == ";" and not (stack and stack[-1] == "init"):
                statement, start = "", None
            else:
                if start is None and not c.isspace():
                    start = line
                statement += c
    return [(name, first, count) for name, first, count in found if count is not None]


def load_exceptions(root):
    path = os.path.join(root, ".ci", "size-exceptions.txt")
    entries = set()
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for raw in f:
                entry = raw.split("#", 1)[0].strip()
                if entry:
                    entries.add(entry)
    return entries


def check_size(root):
    problems, warnings = [], []
    exceptions = load_exceptions(root)
    used = set()
    for rel in source_files(root, CODE_DIRS):
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            text = f.read()
        offences = []
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        if lines > MAX_FILE_LINES:
            offences.append((rel, f"{rel}:1 file has {lines} lines (limit {MAX_FILE_LINES})"))
        for name, first, count in long_functions(blank_code(text)):
            if count > MAX_FUNCTION_LINES:
                offences.append((f"{rel}:{name}", f"{rel}:{first} function {name} has {count} "
                                 f"lines (limit {MAX_FUNCTION_LINES})"))
        for key, message in offences:
            if key in exceptions:
                used.add(key)
                warnings.append(f"{message} [known: .ci/size-exceptions.txt]")
            else:
                problems.append(message)
    for stale in sorted(exceptions - used):
        warnings.append(f".ci/size-exceptions.txt: {stale} is within the limits now; "
                        "delete the entry")
    return problems, warnings


def main(argv):
    what = argv[1] if len(argv) > 1 else "all"
    root = argv[2] if len(argv) > 2 else os.path.join(os.path.dirname(__file__), "..")
    if what not in ("deps", "size", "all"):
        print(__doc__)
        return 2
    problems, warnings = [], []
    if what in ("deps", "all"):
        problems += check_deps(root)
    if what in ("size", "all"):
        more, warnings = check_size(root)
        problems += more
    for w in warnings:
        print(f"warning: {w}")
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} layout rule(s) broken ({what}); see .ci/check_layout.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
