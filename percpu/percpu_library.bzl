# SPDX-License-Identifier: BSD-2-Clause
"""percpu_library: //percpu:percpu and its test variants from one list of
sources, so a file added to or split out of percpu/ is named once."""

PERCPU_SRCS = [
    "aligned.c",
    "budget.c",
    "depot.c",
    "flush.c",
    "fork.c",
    "init.c",
    "kmalloc.c",
    "percpu_internal.h",
    "size_class.c",
    "stats.c",
]

PERCPU_HDRS = [
    "include/percpu/config.h",
    "include/percpu/kmalloc.h",
    "include/percpu/size_class.h",
]

# The fast path is the point of this package: optimise it even in the default
# fastbuild mode, so `bazel run` and `bazel test` measure what ships.
PERCPU_COPTS = ["-O2"]

# First refills of a whole magazine's worth (<percpu/config.h>'s
# PERCPU_REFILL_FIRST_ROUNDS; the kernel's default is 2): what the shim was
# tuned at (tools/shim/BUILD), and what the tests that count a magazine's
# rounds from its first refill are written for (percpu/BUILD).
WHOLE_REFILLS = "PERCPU_REFILL_FIRST_ROUNDS=16"

PERCPU_DEPS = [
    "//heap",
    "//heap:heap_core",
    "//platform:port",
    "//platform:ticket_lock",
]

def percpu_library(name, deps = PERCPU_DEPS, **kwargs):
    native.cc_library(
        name = name,
        srcs = PERCPU_SRCS,
        hdrs = PERCPU_HDRS,
        copts = PERCPU_COPTS,
        includes = ["include"],
        deps = deps,
        **kwargs
    )
