# SPDX-License-Identifier: BSD-2-Clause
"""fuzz_target: a libFuzzer target built with clang-14 by tools/fuzz/fuzz.sh.

<name>_test: the seed corpus plus `runs` mutated inputs, in `bazel test //...`.
<name>: `bazel run //pkg:<name> -- SECONDS` fuzzes for that long (default 60;
FUZZ_FAST=1 drops ASan/UBSan for speed, FUZZ_CORPUS=dir keeps the corpus).
"""

def fuzz_target(name, srcs, copts, corpus, runs = 20000):
    data = srcs + corpus + ["//tools/fuzz:coverage_ignore.txt"]
    args = ["--"] + copts + ["--"] + ["$(locations %s)" % s for s in srcs] + \
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
