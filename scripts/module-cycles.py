#!/usr/bin/env python3
"""Import circles between nhid's top-level modules (issue 16, item 3).

Reads every `crate::MODULE` reference in src/MODULE.rs and src/MODULE/**.rs (tests included:
a test's import is a dependency too), builds the module graph and prints its strongly
connected components (each a set of modules that import each other, directly or not) and the
pairs that import each other directly. Exits 1 while any circle remains, 0 when none does.

    python3 scripts/module-cycles.py
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def graph():
    lib = open(os.path.join(ROOT, "src/lib.rs")).read()
    mods = re.findall(r"^pub mod (\w+);", lib, re.M)
    dep = {m: set() for m in mods}
    for m in mods:
        files = []
        d = os.path.join(ROOT, "src", m)
        if os.path.isdir(d):
            for r, _, fs in os.walk(d):
                files += [os.path.join(r, f) for f in fs if f.endswith(".rs")]
        if os.path.exists(d + ".rs"):
            files.append(d + ".rs")
        for f in files:
            for x in re.findall(r"crate::(\w+)", open(f).read()):
                if x in dep and x != m:
                    dep[m].add(x)
    return mods, dep


def components(mods, dep):
    """Tarjan's strongly connected components with more than one module."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(dep[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in mods:
        if v not in index:
            visit(v)
    return out


def main():
    mods, dep = graph()
    comps = components(mods, dep)
    for c in comps:
        print("circle:", " ".join(c))
    for a in mods:
        for b in sorted(dep[a]):
            if a < b and a in dep[b]:
                print(f"  {a} <-> {b}")
    if not comps:
        print("no import circles between top-level modules")
    return 1 if comps else 0


if __name__ == "__main__":
    sys.exit(main())
