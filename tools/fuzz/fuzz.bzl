# SPDX-License-Identifier: BSD-2-Clause
"""fuzz_target: a libFuzzer target built with clang-14 by tools/fuzz/fuzz.sh.

<name>_test: the seed corpus plus `runs` mutated inputs, in `bazel test //...`.
<name>: `bazel run //pkg:<name> -- SECONDS` fuzzes for that long (default 60;
FUZZ_FAST=1 drops ASan/UBSan for speed, FUZZ_CORPUS=dir keeps the corpus).

fuzz.sh compiles with clang, outside Bazel's cc rules, so the hardening
level (<heap/hardening.h>) reaches it as a clang response file that a
genrule writes from `--define hardening=N` (//heap:hardening's select, the
same settings): `bazel test --define hardening=2 //...` fuzzes level 2.
fuzz_targets() also makes a twin fixed at HARDENED_LEVEL (`-DHEAP_HARDENING=`,
which wins over the define), so the default `bazel test //...` fuzzes the
claims, encoded links, canaries and poison too.
"""

load("//heap:heap_library.bzl", "HARDENING_FROM_DEFINE", "HARDENING_LEVELS")

HARDENED_LEVEL = 2

def _hardening_flags(name):
    """A response file holding the --define's level, or nothing (level 1)."""
    cmds = {
        "//heap:hardening_is_%d" % n: "echo -D%s=%d > $@" % (HARDENING_FROM_DEFINE, n)
        for n in HARDENING_LEVELS
    }
    cmds["//conditions:default"] = "echo > $@"
    native.genrule(name = name, outs = [name + ".rsp"], cmd = select(cmds))

def fuzz_target(name, srcs, copts, corpus, runs = 20000):
    flags = name + "_hardening"
    _hardening_flags(flags)
    data = srcs + corpus + [":" + flags, "//tools/fuzz:coverage_ignore.txt"]

    # clang reads "@file" as more options: the level from the --define.
    args = ["--", "@$(location :%s)" % flags] + copts + ["--"] + \
           ["$(locations %s)" % s for s in srcs] + \
           ["$(locations %s)" % c for c in corpus]
    native.sh_test(
        name = name + "_test",
        size = "medium",
        srcs = ["//tools/fuzz:fuzz.sh"],
        args = ["test", name, str(runs)] + args,
        data = data,
        target_compatible_with = ["@platforms//os:linux"],
    )

    # `bazel run` appends the user's arguments after these: the final "--"
    # tells fuzz.sh where the sources end and they begin (SECONDS first).
    native.sh_binary(
        name = name,
        srcs = ["//tools/fuzz:fuzz.sh"],
        args = ["run", name, "60"] + args + ["--"],
        data = data,
        target_compatible_with = ["@platforms//os:linux"],
    )

def fuzz_targets(name, srcs, copts, corpus, runs = 20000):
    """fuzz_target `name` at the build's level, and `name`_hardened at 2."""
    for n, level_copts in [
        (name, []),
        (name + "_hardened", ["-DHEAP_HARDENING=%d" % HARDENED_LEVEL]),
    ]:
        fuzz_target(n, srcs, level_copts + copts, corpus, runs)
