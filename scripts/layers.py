#!/usr/bin/env python3
"""The architecture checks of `.ci/run`: rawrt's layers, read from the code.

    python3 scripts/layers.py        (from anywhere; exits 1 and names each violation)

1. Layer order. Each top-level module of `src/` belongs to a layer, lowest first:

       0  loom (the std/loom shim), util (small helpers), usable by all
       1  reactor, task_core
       2  scheduler
       3  runtime
       4  net, time, sync, signal, io, fs, process, task, stats, macros
       5  hyper

   A module may use its own layer and those below it, never one above: every `crate::X`
   path and every `super::` chain that reaches the crate root is resolved to the top-level
   module it names (names re-exported by `lib.rs`, such as `crate::Handle`, count as the
   module they come from), outside comments, tests included.
2. The scheduler is mechanism only: no file under `src/scheduler/` mentions signals.
3. One thread-local: `thread_local!` appears once in `src/`, in `src/scheduler/context.rs`.
"""

import os
import re
import sys

LAYERS = {
    "loom": 0,
    "util": 0,
    "reactor": 1,
    "task_core": 1,
    "scheduler": 2,
    "runtime": 3,
    "net": 4,
    "time": 4,
    "sync": 4,
    "signal": 4,
    "io": 4,
    "fs": 4,
    "process": 4,
    "task": 4,
    "stats": 4,
    "macros": 4,
    "hyper": 5,
}
CONTEXT_FILE = os.path.join("src", "scheduler", "context.rs")

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def strip_comments(text):
    """The code without `//` comments (doc comments included) and `/* */` blocks; string
    literals are kept as they are (a `//` inside one is rare enough in this tree)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(re.sub(r"//.*", "", line) for line in text.split("\n"))


def module_path(rel):
    """`src/a/b.rs` -> ["a", "b"]; `src/a/mod.rs` -> ["a"]; `src/lib.rs` -> []."""
    parts = rel.split(os.sep)[1:]
    last = parts[-1][:-3]
    parts = parts[:-1] + ([] if last in ("mod", "lib") else [last])
    return parts


def root_reexports(lib_text):
    """Names that `lib.rs` re-exports at the crate root, mapped to their module."""
    names = {}
    for m in re.finditer(r"pub use (\w+)::(\{[^}]*\}|\w+)\s*;", lib_text):
        module, items = m.group(1), m.group(2)
        for item in re.findall(r"\w+", items):
            names[item] = module
    return names


def brace_heads(group):
    """The first path segment of each entry of a `{...}` use group (top level only)."""
    heads, depth, token = [], 0, ""
    for ch in group[1:-1]:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            heads.append(token)
            token = ""
            continue
        token += ch
    heads.append(token)
    out = []
    for h in heads:
        m = re.match(r"\s*(\w+)", h)
        if m:
            out.append(m.group(1))
    return out


def referenced_modules(code, path, reexports):
    """The top-level modules that `code` (a file at module `path`) refers to."""
    found = set()

    def add(name):
        if name in ("self", "super", "crate"):
            return
        found.add(reexports.get(name, name))

    # `crate::x` and `crate::{x, y::z}`.
    for m in re.finditer(r"\bcrate::(\{(?:[^{}]|\{[^{}]*\})*\}|\w+)", code):
        target = m.group(1)
        if target.startswith("{"):
            for head in brace_heads(target):
                add(head)
        else:
            add(target)
    # `super::super::x` chains that climb out of the top-level module to the root.
    for m in re.finditer(r"\b((?:super::)+)(\{(?:[^{}]|\{[^{}]*\})*\}|\w+)", code):
        ups = m.group(1).count("super::")
        # A file's own module is `path`; `super` from it is `path[:-1]`. The chain reaches
        # the crate root when it climbs `len(path)` levels.
        if ups == len(path):
            target = m.group(2)
            heads = brace_heads(target) if target.startswith("{") else [target]
            for head in heads:
                add(head)
    return found


def main():
    os.chdir(ROOT)
    errors = []
    lib = open(os.path.join("src", "lib.rs")).read()
    reexports = root_reexports(strip_comments(lib))
    thread_locals = []
    for dirpath, _, files in os.walk("src"):
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            rel = os.path.join(dirpath, f)
            text = open(rel).read()
            code = strip_comments(text)
            path = module_path(rel)
            if code.count("thread_local!"):
                thread_locals.append((rel, code.count("thread_local!")))
            if rel.startswith(os.path.join("src", "scheduler") + os.sep) and re.search(
                r"signal", text, re.I
            ):
                lines = [
                    str(i + 1)
                    for i, line in enumerate(text.split("\n"))
                    if re.search(r"signal", line, re.I)
                ]
                errors.append(
                    f"{rel}: mentions signals (line {', '.join(lines)}); the scheduler is mechanism only"
                )
            if not path:
                continue  # lib.rs: the crate root declares every layer
            own = path[0]
            if own not in LAYERS:
                errors.append(f"{rel}: top-level module `{own}` has no layer in scripts/layers.py")
                continue
            for target in sorted(referenced_modules(code, path, reexports)):
                if target not in LAYERS:
                    continue  # a local name, not a module of the crate
                if LAYERS[target] > LAYERS[own]:
                    errors.append(
                        f"{rel}: `{own}` (layer {LAYERS[own]}) uses `{target}` (layer {LAYERS[target]}), a higher layer"
                    )
    if thread_locals != [(CONTEXT_FILE, 1)]:
        errors.append(
            f"thread_local! must appear exactly once, in {CONTEXT_FILE}; found: {thread_locals}"
        )
    if errors:
        print("layer check failed:")
        for e in errors:
            print("  " + e)
        sys.exit(1)
    print(f"layer check: ok ({len(LAYERS)} modules in 6 layers, one thread-local)")


if __name__ == "__main__":
    main()
