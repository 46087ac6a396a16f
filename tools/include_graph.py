#!/usr/bin/env python3
"""Prints the module graph of edgebench's sources, read from their #include lines.

A module is a folder of src/ (src/backends/<name> counts as the module "backends/<name>").
A public header include/edgebench/X.h belongs to the module whose source X.cc (or a source
that includes it first) implements it; "inspect/onnx_util.h" style includes name their module,
and a bare "x.h" from another folder is the module that holds the one x.h.
An edge A -> B means a non-test file of A includes a header of B.
docs/architecture.md shows this output; rerun it after moving code:

    /usr/bin/python3 tools/include_graph.py
"""
import collections
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def module_of(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT / "src").parts
    return "/".join(parts[:2]) if parts[0] == "backends" else parts[0]


def main() -> int:
    sources = [p for p in (ROOT / "src").rglob("*") if p.suffix in (".cc", ".h") and "_test" not in p.name]
    owner = {}  # "edgebench/x.h" -> module
    first_includes = []  # (header, module) of each .cc whose first include is a public header
    for path in sources:
        includes = INCLUDE.findall(path.read_text(errors="replace"))
        if path.suffix == ".cc" and includes and includes[0].startswith("edgebench/"):
            first_includes.append((includes[0], module_of(path), pathlib.Path(includes[0]).stem == path.stem))
    # The source named like the header owns it; else a non-backend source that includes it first
    # (backends implement backend.h, they do not own it).
    for header, module, same_stem in first_includes:
        if same_stem:
            owner[header] = module
    for header, module, _ in first_includes:
        if header not in owner and not module.startswith("backends/"):
            owner[header] = module
    for header in sorted((ROOT / "include" / "edgebench").glob("*.h")):
        owner.setdefault("edgebench/" + header.name, "(header only)")

    edges = collections.defaultdict(set)
    for path in sources:
        module = module_of(path)
        for header in INCLUDE.findall(path.read_text(errors="replace")):
            target = owner.get(header)
            if target is None and (ROOT / "src" / header).is_file():  # another module's private header
                target = module_of(ROOT / "src" / header)
            if target is None and "/" not in header and not (path.parent / header).is_file():
                found = [p for p in sources if p.name == header]  # found through an include directory
                if len(found) == 1:
                    target = module_of(found[0])
            if target and target != module:
                edges[module].add(target)
    headers_by_module = collections.defaultdict(list)
    for header, module in owner.items():
        headers_by_module[module].append(header.split("/", 1)[1])
    for module in sorted(set(module_of(p) for p in sources)):
        uses = ", ".join(sorted(edges.get(module, ()))) or "-"
        print(f"{module:22} -> {uses}")
    print()
    for module in sorted(headers_by_module):
        print(f"{module:22} owns {', '.join(sorted(headers_by_module[module]))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
