#!/usr/bin/env python3
"""Fails on an #include that crosses the layer rules of docs (ARCHITECTURE.md, "Layers").

    scripts/check_layers.py [--root DIR]     check a tree (default: this repository)
    scripts/check_layers.py --self-test      prove the rules on tests/layering/fixture/

Rules, each printed as `file:line: [rule] message` when broken:
  layer    `#include "X/..."` in src/<folder>/, include/duplex/ or apps/duplex/ where X is not
           the folder itself nor in its row of LAYERS below, directly or through the rows it uses.
  syscall  an I/O-multiplexing or socket header (SYSCALL_HEADERS) in src/ outside src/net/.
           Unit tests and micro-benchmarks (*_test.cc, *_bench.cc) are exempt: ARCHITECTURE.md
           lets tests and benchmarks open sockets. Fuzz targets are not exempt.
  public   include/duplex/ includes something other than std headers, "duplex/..." or
           PUBLIC_THIRD_PARTY (a public header exposes our own types only).
  relative an include with "../" (includes are relative to src/, so a relative one hides the
           layer it reaches).
  folder   a folder under src/ that has no row in LAYERS (add it here and in ARCHITECTURE.md).

"duplex/..." (the public API headers) may be included from any layer: those headers include
only std and each other, so they cannot carry an upward edge.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# The allowed-dependency table: one row per layer folder, naming the layers it may include
# directly. What those may include is allowed too (transitive). Keep in step with
# ARCHITECTURE.md's "Layers and what each may use" and the DEPS in each src/<folder>/CMakeLists.txt.
LAYERS: dict[str, tuple[str, ...]] = {
    "base": (),
    "net": ("base",),
    "hub": ("base",),
    "centrifuge/codec": ("base",),
    "sio/codec": ("base",),
    "http": ("net", "base"),
    "ws": ("http",),
    "sse": ("http",),
    "redis": ("hub", "net"),
    "centrifuge": ("centrifuge/codec", "hub", "ws", "sse"),
    "sio": ("sio/codec", "hub", "ws"),
    "client": ("ws", "centrifuge/codec", "sio/codec"),
    "server": ("redis", "centrifuge", "sio", "client", "sse", "ws", "http", "hub", "net", "base",
               "centrifuge/codec", "sio/codec"),
    # Outside src/: the app and the public headers (their "duplex/..." includes are checked by
    # the `public` rule instead).
    "apps/duplex": ("server", "client"),
    "include/duplex": (),
}

SYSCALL_HEADERS = re.compile(
    r"^(sys/epoll\.h|sys/socket\.h|sys/select\.h|poll\.h|sys/poll\.h|sys/event\.h|netinet/.*"
    r"|arpa/inet\.h|netdb\.h|sys/eventfd\.h|sys/timerfd\.h|sys/un\.h)$")
SYSCALL_OWNER = "net"

# Third-party headers a public header may include because the type is the point.
PUBLIC_THIRD_PARTY = ("nlohmann/json.hpp", "nlohmann/json_fwd.hpp")

SOURCE_SUFFIXES = (".h", ".hh", ".hpp", ".cc", ".cpp", ".ipp", ".inc")
TEST_FILE = re.compile(r"_(test|bench)\.(cc|cpp)$")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "layering" / "fixture"
EXPECT_MARK = re.compile(r"//\s*expect:\s*(\w+)")


@dataclass(frozen=True, order=True)
class violation:
    path: str  # relative to the checked root
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}"


def closure(table: dict[str, tuple[str, ...]]) -> dict[str, frozenset[str]]:
    """Everything each layer may include: itself, its row, and their rows, transitively."""
    out: dict[str, frozenset[str]] = {}

    def visit(name: str, stack: tuple[str, ...]) -> frozenset[str]:
        if name in out:
            return out[name]
        if name in stack:
            raise SystemExit(f"check_layers: cycle in LAYERS: {' -> '.join(stack + (name,))}")
        if name not in table:
            raise SystemExit(f"check_layers: LAYERS row {stack[-1]!r} names unknown layer {name!r}")
        allowed = {name}
        for dep in table[name]:
            allowed |= visit(dep, stack + (name,))
        out[name] = frozenset(allowed)
        return out[name]

    for name in table:
        visit(name, ())
    return out


ALLOWED = closure(LAYERS)
SRC_LAYERS = sorted((n for n in LAYERS if n.split("/")[0] not in ("apps", "include")),
                    key=len, reverse=True)  # longest first, so "centrifuge/codec" wins over "centrifuge"


def layer_of_include(target: str) -> str | None:
    """The src/ layer an include like "centrifuge/codec/command.h" reaches, if any."""
    for name in SRC_LAYERS:
        if target.startswith(name + "/"):
            return name
    return None


def owner_of(rel: Path) -> str | None:
    """The LAYERS row that governs a file (relative to the root), or None when unchecked."""
    parts = rel.parts
    if parts[0] == "src":
        sub = "/".join(parts[1:-1])
        for name in SRC_LAYERS:
            if sub == name or sub.startswith(name + "/"):
                return name
        return None
    if len(parts) >= 3 and parts[0] in ("apps", "include") and parts[1] == "duplex":
        return f"{parts[0]}/duplex"
    return None


def includes(path: Path):
    """(line number, delimiter, target) for each #include outside /* */ comments."""
    in_block = False
    with path.open(encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if in_block:
                end = line.find("*/")
                if end < 0:
                    continue
                line = line[end + 2:]
                in_block = False
            start = line.find("/*")
            if start >= 0 and line.find("*/", start + 2) < 0:
                in_block = True
                line = line[:start]
            m = INCLUDE.match(line)
            if m:
                yield n, m.group(1), m.group(2).strip()


def check_file(root: Path, path: Path) -> list[violation]:
    rel = path.relative_to(root)
    shown = rel.as_posix()
    found: list[violation] = []
    owner = owner_of(rel)
    in_src = rel.parts[0] == "src"
    if in_src and owner is None:
        return [violation(shown, 1, "folder",
                          f"src/{'/'.join(rel.parts[1:-1]) or '.'} has no row in the layer table "
                          "(scripts/check_layers.py LAYERS, ARCHITECTURE.md)")]
    for line, delim, target in includes(path):
        if ".." in Path(target).parts:
            found.append(violation(shown, line, "relative",
                                   f'"{target}": include relative to src/ instead of with ../'))
            continue
        if owner == "include/duplex":
            ok = (target.startswith("duplex/") if delim == '"' else
                  target in PUBLIC_THIRD_PARTY or (not target.endswith((".h", ".hpp")) and "/" not in target))
            if not ok:
                spelled = f"<{target}>" if delim == "<" else f'"{target}"'
                found.append(violation(shown, line, "public",
                                       f'include/duplex may include only std and "duplex/..." headers, '
                                       f"not {spelled}"))
            continue
        if delim == "<" and in_src and owner != SYSCALL_OWNER and SYSCALL_HEADERS.match(target) \
                and not TEST_FILE.search(path.name):
            found.append(violation(shown, line, "syscall",
                                   f"<{target}> only in src/{SYSCALL_OWNER}/ (syscalls live behind net's "
                                   "interface)"))
            continue
        if delim == '"' and owner is not None:
            reached = layer_of_include(target)
            if reached is None:
                top = target.split("/")[0]
                if "/" in target and (root / "src" / top).is_dir():
                    found.append(violation(shown, line, "folder",
                                           f'"{target}": src/{top}/ has no row in the layer table'))
                continue  # a same-folder or third-party include
            if reached not in ALLOWED[owner]:
                row = ", ".join(LAYERS[owner]) or "nothing"
                found.append(violation(shown, line, "layer",
                                       f'{owner} may not include "{target}" ({reached}); its row allows: {row}'))
    return found


def check_tree(root: Path) -> list[violation]:
    found: list[violation] = []
    for top in ("src", "include", "apps"):
        base = root / top
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(SOURCE_SUFFIXES):
                    found.extend(check_file(root, Path(dirpath) / name))
    return sorted(found)


def expected_marks(root: Path) -> set[tuple[str, int, str]]:
    marks = set()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name.endswith(SOURCE_SUFFIXES):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                m = EXPECT_MARK.search(line)
                if m:
                    marks.add((path.relative_to(root).as_posix(), n, m.group(1)))
    return marks


def self_test() -> int:
    """Every `// expect: RULE` line of the fixture is reported with that rule and nothing else is;
    the same tree with those lines removed passes."""
    failures = 0
    expected = expected_marks(FIXTURE)
    if len(expected) < 10:
        print(f"self-test: fixture has only {len(expected)} marked includes", file=sys.stderr)
        return 1
    got = {(v.path, v.line, v.rule) for v in check_tree(FIXTURE)}
    for miss in sorted(expected - got):
        print(f"self-test: NOT caught: {miss[0]}:{miss[1]} [{miss[2]}]", file=sys.stderr)
        failures += 1
    for extra in sorted(got - expected):
        print(f"self-test: false alarm: {extra[0]}:{extra[1]} [{extra[2]}]", file=sys.stderr)
        failures += 1

    with tempfile.TemporaryDirectory(prefix="duplex-layers-") as tmp:
        clean = Path(tmp) / "tree"
        shutil.copytree(FIXTURE, clean)
        for path in clean.rglob("*"):
            if path.is_file():
                lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
                path.write_text("".join(l for l in lines if not EXPECT_MARK.search(l)), encoding="utf-8")
        # The unknown folder is a violation by existence, not by a line: drop it for the clean run.
        shutil.rmtree(clean / "src" / "mystery", ignore_errors=True)
        leftover = check_tree(clean)
        for v in leftover:
            print(f"self-test: clean tree reported {v}", file=sys.stderr)
            failures += 1

    rules = sorted({r for _, _, r in expected})
    print(f"self-test: {len(expected)} bad includes caught (rules: {', '.join(rules)}), "
          f"clean tree passes" if failures == 0 else f"self-test: {failures} failure(s)")
    return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=REPO, help="tree to check (default: this repository)")
    ap.add_argument("--self-test", action="store_true", help="check the rules on the fixture")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    root = args.root.resolve()
    found = check_tree(root)
    for v in found:
        print(v)
    if found:
        print(f"check_layers: {len(found)} violation(s) in {root}", file=sys.stderr)
        return 1
    print(f"check_layers: ok ({root})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
