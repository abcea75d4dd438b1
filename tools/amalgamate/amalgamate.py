#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Builds smp-heap without Bazel: one smpheap.c, one smpheap.h, a Make fragment.

    tools/amalgamate/amalgamate.py --out DIR [--prefix P] [--root REPO]

DIR gets:
  smpheap.h    the public API (port contract, ticket lock, kheap, kmalloc,
               pages, the formatter) in one header;
  smpheap.c    every library source (heap/, percpu/, platform/ticket_lock.c,
               kernel/fmt.c) in one translation unit, with #line markers so
               diagnostics name the original files;
  smpheap.mk   a Make fragment: SMPHEAP_SRCS, SMPHEAP_CPPFLAGS, SMPHEAP_CFLAGS.

--prefix P renames every global symbol the library defines (kmalloc ->
P kmalloc, kfree, kheap_*, percpu_*, alloc_pages, ...) in both files, so
none can clash with a kernel's own; the port_* functions, which the kernel
supplies (and port_vsnprintf/port_snprintf, which the formatter supplies),
keep their names. DIR then also gets smpheap_names.h, which maps the plain
names to the prefixed ones for code that wants them (and has no kfree of
its own).

The kernel supplies <platform/port_impl.h> (or names another header with
-DSMPHEAP_PORT_IMPL='"file.h"') and the out-of-line port functions; see
PORTING.md. -DSMPHEAP_NO_FORMATTER leaves port_vsnprintf/port_snprintf to
the kernel. Needs a host C compiler (cc, or $CC) for --prefix: the symbol
list is what `nm` finds defined in the unprefixed amalgamation, compiled
against the host port (or $SMPHEAP_PORT_INCLUDE, include directories
separated by ':', with $CC and $NM, e.g. a cross compiler and the kernel's
own port_impl.h).
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

# Include roots, as Bazel's `includes` give them, plus the repository root
# (percpu's "percpu/percpu_internal.h").
INCLUDE_ROOTS = ["heap/include", "percpu/include", "platform/include", "kernel/include", "percpu", "heap", "."]

PUBLIC_HEADERS = [
    "platform/port.h",
    "platform/ticket_lock.h",
    "heap/config.h",
    "heap/heap_core.h",
    "heap/kheap.h",
    "percpu/config.h",
    "percpu/size_class.h",
    "percpu/kmalloc.h",
    "percpu/pages_config.h",
    "percpu/pages.h",
]

# The port implements these; the amalgamation never renames them.
KEEP_NAMES = re.compile(r"^port_")

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
# A file-scope static at the start of a line: its name before ( [ = or ;.
STATIC_RE = re.compile(r"^static\b[^;(=]*?\b([A-Za-z_]\w*)\s*(?:\(|\[|=|;)")


def strip_attributes(line):
    """line without its __attribute__((...)) groups (parentheses balanced)."""
    while True:
        i = line.find("__attribute__")
        if i < 0:
            return line
        j = line.find("(", i)
        depth = 0
        for k in range(j, len(line)):
            depth += {"(": 1, ")": -1}.get(line[k], 0)
            if depth == 0:
                break
        line = line[:i] + line[k + 1:]


def file_statics(path):
    with open(path) as f:
        return {m.group(1) for m in (STATIC_RE.match(strip_attributes(l)) for l in f) if m}


def colliding_statics(root, srcs):
    """{src: names} of file-local statics another source file already uses.

    One translation unit has one file scope: a static `misuse` in two files
    would clash, so later files get theirs renamed by a #define around them.
    """
    seen, clashes = set(), {}
    for src in srcs:
        names = file_statics(os.path.join(root, src))
        clashes[src] = sorted(names & seen)
        seen |= names
    return clashes


def library_sources(root):
    """Every library .c: heap/, percpu/, the ticket lock, the formatter."""
    srcs = sorted(glob.glob(os.path.join(root, "heap", "*.c")))
    srcs += sorted(glob.glob(os.path.join(root, "percpu", "*.c")))
    srcs += [os.path.join(root, "platform", "ticket_lock.c"), os.path.join(root, "kernel", "fmt.c")]
    return [os.path.relpath(s, root) for s in srcs]


CLANG_UNUSED_PUSH = ["#ifdef __clang__", "#pragma clang diagnostic push",
                     '#pragma clang diagnostic ignored "-Wunused-function"', "#endif"]
CLANG_UNUSED_POP = ["#ifdef __clang__", "#pragma clang diagnostic pop", "#endif"]


class Amalgamator:
    def __init__(self, root):
        self.root = root
        self.done = set()

    def resolve(self, name, quote, including):
        cands = []
        if quote == '"':
            cands.append(os.path.join(os.path.dirname(including), name))
        cands += [os.path.join(r, name) for r in INCLUDE_ROOTS]
        for c in cands:
            path = os.path.normpath(os.path.join(self.root, c))
            if os.path.isfile(path):
                return os.path.relpath(path, self.root)
        return None

    def inline(self, rel, out):
        """Appends rel to out, our own includes inlined once, others kept."""
        if rel in self.done:
            return
        self.done.add(rel)
        with open(os.path.join(self.root, rel)) as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        # A header's static inline helpers are unused in some files, which
        # is fine in a header; but inlined here they are in the main file,
        # where clang's -Wunused-function reports them (gcc does not). Its
        # diagnostic state is per location, so the header's span is exempt.
        header = rel.endswith(".h")
        if header:
            out += CLANG_UNUSED_PUSH
        out.append('#line 1 "%s"' % rel)
        for n, line in enumerate(lines, 1):
            m = INCLUDE_RE.match(line)
            if m and m.group(2) == "platform/port_impl.h":
                out += ["#ifdef SMPHEAP_PORT_IMPL", "#include SMPHEAP_PORT_IMPL", "#else", line, "#endif"]
                out.append('#line %d "%s"' % (n + 1, rel))
                continue
            target = self.resolve(m.group(2), m.group(1), rel) if m else None
            if not target:
                out.append(line)
                continue
            if target not in self.done:
                self.inline(target, out)
            out.append('#line %d "%s"' % (n + 1, rel))
        if header:
            out += CLANG_UNUSED_POP


def generate(root):
    am = Amalgamator(root)
    header = [
        "/* SPDX-License-Identifier: BSD-2-Clause */",
        "/* smp-heap amalgamated: generated by tools/amalgamate/amalgamate.py; do not edit. */",
        "#ifndef SMPHEAP_H",
        "#define SMPHEAP_H",
    ]
    for h in PUBLIC_HEADERS:
        rel = am.resolve(h, "<", "")
        if not rel:
            sys.exit("amalgamate: missing public header %s" % h)
        am.inline(rel, header)
    header.append("#endif /* SMPHEAP_H */")

    source = [
        "// SPDX-License-Identifier: BSD-2-Clause",
        "/* smp-heap amalgamated: generated by tools/amalgamate/amalgamate.py; do not edit. */",
        '#include "smpheap.h"',
    ]
    srcs = library_sources(root)
    clashes = colliding_statics(root, srcs)
    for src in srcs:
        guard = src == "kernel/fmt.c"
        if guard:
            source.append("#ifndef SMPHEAP_NO_FORMATTER")
        tag = re.sub(r"\W", "_", src[:-2])
        source += ["#define %s %s__%s" % (n, tag, n) for n in clashes[src]]
        am.inline(src, source)
        source += ["#undef %s" % n for n in clashes[src]]
        if guard:
            source.append("#endif /* SMPHEAP_NO_FORMATTER */")
    return "\n".join(header) + "\n", "\n".join(source) + "\n"


# HEAP_HARDENING levels: some globals exist only at some (the heap's secret
# and percpu's poison report at 2 and 3), so the symbols are collected at each.
HARDENING_LEVELS = range(4)


def defined_symbols(out_dir, root):
    """Global symbols the unprefixed amalgamation defines (host compile + nm)."""
    cc = os.environ.get("CC", "cc")
    nm_tool = os.environ.get("NM", "nm")
    ports = os.environ.get("SMPHEAP_PORT_INCLUDE", os.path.join(root, "platform", "host", "include"))
    port_flags = ["-I" + d for d in ports.split(os.pathsep) if d]
    names = set()
    with tempfile.TemporaryDirectory() as tmp:
        obj = os.path.join(tmp, "smpheap.o")
        for level in HARDENING_LEVELS:
            subprocess.run([cc, "-std=gnu11", "-ffreestanding", "-c", "-O0", "-w", "-DHEAP_HARDENING=%d" % level,
                            "-I", out_dir] + port_flags + [os.path.join(out_dir, "smpheap.c"), "-o", obj], check=True)
            nm = subprocess.run([nm_tool, "-g", "--defined-only", obj], check=True,
                                capture_output=True, text=True).stdout
            for line in nm.splitlines():
                parts = line.split()
                if len(parts) == 3:
                    names.add(parts[2])
    return sorted(n for n in names if not KEEP_NAMES.match(n))


def header_inlines(header_text):
    """Names of the static inline functions smpheap.h defines, port_* aside."""
    found = set()
    for line in header_text.splitlines():
        m = STATIC_RE.match(strip_attributes(line))
        if m and "inline" in line and not KEEP_NAMES.match(m.group(1)):
            found.add(m.group(1))
    return found


def rename(text, names, prefix):
    """text with every name prefixed, except in the #line markers' paths
    (heap/heap_validate.c and percpu/kmalloc.c share their stems with
    functions; diagnostics must still name the files that exist)."""
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b")
    return "\n".join(line if line.startswith("#line ") else pattern.sub(lambda m: prefix + m.group(1), line)
                     for line in text.split("\n"))


def public_names(header_text, names):
    """The symbols of `names` that smpheap.h declares (the API)."""
    return [n for n in names if re.search(r"\b%s\b" % re.escape(n), header_text)]


MAKE_FRAGMENT = """\
# SPDX-License-Identifier: BSD-2-Clause
# smp-heap amalgamated: generated by tools/amalgamate/amalgamate.py; do not edit.
# Include it from a kernel Makefile:
#   include path/to/smpheap/smpheap.mk
#   OBJS += $(SMPHEAP_SRCS:.c=.o)
#   CFLAGS += $(SMPHEAP_CPPFLAGS)      # for files that include smpheap.h
#   $(SMPHEAP_SRCS:.c=.o): CFLAGS += $(SMPHEAP_CFLAGS)
# The kernel adds its port's include root (<platform/port_impl.h>) to
# SMPHEAP_PORT_CPPFLAGS and links its port_* functions (PORTING.md).
SMPHEAP_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
SMPHEAP_SRCS := $(SMPHEAP_DIR)/smpheap.c
SMPHEAP_HDRS := $(SMPHEAP_DIR)/smpheap.h
SMPHEAP_PREFIX := {prefix}
# One include root for the library; the port's root comes from the kernel
# (set SMPHEAP_PORT_CPPFLAGS before or after the include: expanded late).
SMPHEAP_CPPFLAGS = -I$(SMPHEAP_DIR) $(SMPHEAP_PORT_CPPFLAGS)
# Freestanding C11 with GNU extensions (inline asm, __atomic builtins);
# warnings as the project builds them. Add -DPORT_MAX_HARTS=N for fewer
# harts (BSS), -DSMPHEAP_NO_FORMATTER if the kernel has port_vsnprintf.
SMPHEAP_CFLAGS = -std=gnu11 -ffreestanding -fno-common -O2 -Wall -Wextra $(SMPHEAP_CPPFLAGS)
# The sources it was made from, for builds from the tree instead (set
# SMPHEAP_ROOT to the smp-heap checkout, before or after the include:
# expanded late).
SMPHEAP_TREE_SRCS = {tree_srcs}
SMPHEAP_TREE_INCLUDES = {tree_includes}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--prefix", default="", help="prefix for every global symbol (e.g. smpheap_)")
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."),
                    help="repository root (default: this script's)")
    args = ap.parse_args()
    root = os.path.normpath(args.root)
    if args.prefix and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", args.prefix):
        sys.exit("amalgamate: --prefix must be a C identifier prefix")
    os.makedirs(args.out, exist_ok=True)
    header, source = generate(root)
    write(args.out, "smpheap.h", header)
    write(args.out, "smpheap.c", source)
    names = []
    if args.prefix:
        # Linker symbols, and the header's static inline helpers (a kernel
        # may have its own alloc_page too).
        names = sorted(set(defined_symbols(args.out, root)) | header_inlines(header))
        header = rename(header, names, args.prefix)
        write(args.out, "smpheap.h", header)
        write(args.out, "smpheap.c", rename(source, names, args.prefix))
        api = public_names(header, [args.prefix + n for n in names])
        write(args.out, "smpheap_names.h", names_header(api, args.prefix))
    write(args.out, "smpheap.mk", MAKE_FRAGMENT.format(
        prefix=args.prefix,
        tree_srcs=" ".join("$(SMPHEAP_ROOT)/" + s for s in library_sources(root)),
        tree_includes=" ".join("-I$(SMPHEAP_ROOT)/" + r for r in INCLUDE_ROOTS if r != ".") + " -I$(SMPHEAP_ROOT)"))
    print("amalgamate: %s/smpheap.{c,h,mk}: %d sources, %d lines; %s" % (
        args.out, len(library_sources(root)), source.count("\n"),
        "%d symbols prefixed with %s" % (len(names), args.prefix) if args.prefix else "no prefix"))


def names_header(api, prefix):
    lines = ["/* SPDX-License-Identifier: BSD-2-Clause */",
             "/* Generated by tools/amalgamate/amalgamate.py: the plain names of the API, for",
             " * code that has no symbols of its own by those names. */",
             "#ifndef SMPHEAP_NAMES_H", "#define SMPHEAP_NAMES_H", '#include "smpheap.h"']
    lines += ["#define %s %s" % (n[len(prefix):], n) for n in api]
    lines.append("#endif")
    return "\n".join(lines) + "\n"


def write(out, name, text):
    with open(os.path.join(out, name), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
