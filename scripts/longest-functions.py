#!/usr/bin/env python3
"""The longest Rust functions of the tree: none outside tests is to be over 100 lines.

    scripts/longest-functions.py [N] [PATH ...]    N longest (default 10), under PATH (default all)

A function's length runs from its `fn` line to its closing brace. Test code is left out: files
under tests/ or fuzz/, files named tests.rs or *_tests.rs, and #[cfg(test)] modules. The braces
are counted on each line with comments, strings and characters taken out: a rough reader, exact
for the code of this repository (rustfmt'ed, no braces in raw strings spanning lines).
"""

import re
import subprocess
import sys

FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def sources(paths):
    listed = subprocess.run(
        ["git", "ls-files", "*.rs", *paths], capture_output=True, text=True, check=True
    ).stdout.split()
    return [
        f
        for f in listed
        if not f.startswith(("tests/", "fuzz/"))
        and "/tests/" not in f
        and not f.endswith(("/tests.rs", "_tests.rs"))
    ]


def code_of(line):
    line = re.sub(r"//.*$", "", line)
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    return re.sub(r"'(\\.|[^'\\])'", "''", line)


def functions(path):
    """(length, path, line, name) of every function of `path` outside test modules."""
    found = []
    depth = 0
    test_module_depth = None
    test_attribute = False
    open_fns = []  # [name, first line, depth at the fn, body opened]
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for number, line in enumerate(lines):
        code = code_of(line)
        if test_module_depth is None and re.match(r"\s*#\[cfg\(test\)\]", line):
            test_attribute = True
        m = FN.match(code)
        if m and test_module_depth is None:
            open_fns.append([m.group(6), number, depth, False])
        for ch in code:
            if ch == "{":
                if test_attribute and test_module_depth is None:
                    test_module_depth = depth
                    test_attribute = False
                depth += 1
                if open_fns and not open_fns[-1][3] and depth == open_fns[-1][2] + 1:
                    open_fns[-1][3] = True
            elif ch == "}":
                depth -= 1
                if test_module_depth is not None and depth == test_module_depth:
                    test_module_depth = None
                if open_fns and open_fns[-1][3] and depth == open_fns[-1][2]:
                    name, first, _, _ = open_fns.pop()
                    found.append((number - first + 1, path, first + 1, name))
            elif ch == ";" and open_fns and not open_fns[-1][3] and depth == open_fns[-1][2]:
                open_fns.pop()  # a declaration without a body
        if test_attribute and re.match(r"\s*mod\s+\w+\s*;", code):
            test_attribute = False  # a test module in a file of its own
    return found


def main():
    args = sys.argv[1:]
    count = int(args.pop(0)) if args and args[0].isdigit() else 10
    every = [fn for path in sources(args) for fn in functions(path)]
    every.sort(reverse=True)
    for length, path, line, name in every[:count]:
        print(f"{length:5} {path}:{line} {name}")


main()
