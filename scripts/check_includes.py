#!/usr/bin/env python3
"""Checks that includes point downward (DESIGN.md: one folder = one layer).

    python3 scripts/check_includes.py [project root]     (default: this script's ..)

Reads every `#include "..."` in core/ autograd/ ops/ nn/ distributed/ train/
(root-relative paths, as the project writes them) and fails, listing each
offender, when
  - a file under ops/ other than the umbrella ops/ops.h includes ops/ops.h;
  - a file includes one of a higher layer (core < autograd < ops < nn <
    distributed < train);
  - the include graph between the folders of ops/ (ops/<op>/..., subfolders
    merged; the shared files at ops/ itself left out) has a cycle;
  - files include each other in a loop.
Exit status 0 when clean, 1 otherwise. Standard library only.
"""
import re
import sys
from collections import defaultdict
from pathlib import Path

LAYERS = ["core", "autograd", "ops", "nn", "distributed", "train"]
RANK = {name: i for i, name in enumerate(LAYERS)}
SUFFIXES = {".h", ".hpp", ".cpp", ".cc", ".cu", ".cuh"}
UMBRELLA = "ops/ops.h"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def read_includes(root):
    """{file: [included file, ...]}, paths relative to root with '/'."""
    graph = {}
    for layer in LAYERS:
        for path in sorted((root / layer).rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file():
                continue
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            includes = [m.group(1) for m in map(INCLUDE.match, lines) if m]
            graph[path.relative_to(root).as_posix()] = includes
    return graph


def ops_folder(path):
    """'ops/reduce' for ops/reduce/... (any depth); None for ops/x.h and other layers."""
    parts = path.split("/")
    return "/".join(parts[:2]) if parts[0] == "ops" and len(parts) > 2 else None


def find_cycles(edges):
    """One cycle [a, b, ..., a] per strongly connected component of the graph."""
    index, low, on_stack, stack, comps = {}, {}, set(), [], []

    def strongconnect(v):  # Tarjan, iterative (file graphs may be deep)
        work = [(v, iter(sorted(edges.get(v, ()))))]
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.add(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    comps.append(comp)

    for v in sorted(edges):
        if v not in index:
            strongconnect(v)

    cycles = []
    for comp in comps:  # a shortest way back to the component's first node
        start = min(comp)
        prev, frontier = {start: None}, [start]
        while frontier and start not in [w for v in frontier for w in edges[v]]:
            nxt = []
            for v in frontier:
                for w in sorted(edges[v]):
                    if w in comp and w not in prev:
                        prev[w] = v
                        nxt.append(w)
            frontier = nxt
        last = next(v for v in frontier if start in edges[v])
        path = [last]
        while prev[path[-1]] is not None:
            path.append(prev[path[-1]])
        cycles.append(path[::-1] + [start])
    return sorted(cycles)


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
    graph = read_includes(root)
    problems = []

    for f, includes in graph.items():
        if f.startswith("ops/") and f != UMBRELLA and UMBRELLA in includes:
            problems.append(f"umbrella: {f} includes {UMBRELLA} (include the op headers it uses)")

    for f, includes in graph.items():
        for inc in includes:
            layer = inc.split("/")[0]
            if layer in RANK and RANK[layer] > RANK[f.split("/")[0]]:
                problems.append(f"upward:   {f} includes {inc} ({f.split('/')[0]} is below {layer})")

    # Folder graph inside ops/, each edge with the files that make it.
    why = defaultdict(list)
    for f, includes in graph.items():
        a = ops_folder(f)
        for inc in includes:
            b = ops_folder(inc)
            if a and b and a != b:
                why[(a, b)].append(f"{f} -> {inc}")
    folder_edges = defaultdict(set)
    for a, b in why:
        folder_edges[a].add(b)
    for cycle in find_cycles(folder_edges):
        lines = [f"cycle:    ops folders {' -> '.join(cycle)}"]
        for a, b in zip(cycle, cycle[1:]):
            lines += [f"            {line}" for line in sorted(why[(a, b)])]
        problems.append("\n".join(lines))

    file_edges = {f: {inc for inc in includes if inc in graph} for f, includes in graph.items()}
    for cycle in find_cycles(file_edges):
        problems.append(f"cycle:    files {' -> '.join(cycle)}")

    if problems:
        print(f"check_includes: {len(problems)} problem(s) under {root}")
        for p in problems:
            print("  " + p)
        return 1
    print(f"check_includes: {len(graph)} files, includes point downward, no include loops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
