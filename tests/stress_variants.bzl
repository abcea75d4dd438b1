# SPDX-License-Identifier: BSD-2-Clause
"""The SMP stress kernel rebuilt over a faulty heap, percpu or kernel.

Each variant is a test that passes only if the stress fails loudly (exit
1..5 with a FAIL or PANIC line; see qemu/expect_loud_failure_test.sh).
"""

load("//tools/qemu:qemu.bzl", "kernel_binary", "qemu_run")

def faulty_stress_test(name, heap, percpu, kernel, ticket_lock, args, expect_re = "", size = "medium"):
    """<name>: sh_test over the stress kernel built on the given variants."""
    native.cc_library(
        name = name + "_stress",
        testonly = True,
        srcs = ["stress/heap_stress.c"],
        hdrs = ["stress/heap_stress.h"],
        deps = [heap, percpu, "//platform:port", ticket_lock],
    )
    kernel_binary(
        name = name + "_kernel",
        testonly = True,
        srcs = ["qemu/heap_stress_kernel.c"],
        deps = [":" + name + "_stress", kernel],
    )
    qemu_run(
        name = name + "_run",
        testonly = True,
        kernel = ":" + name + "_kernel",
        smp = 4,
    )
    native.sh_test(
        name = name,
        size = size,
        srcs = ["qemu/expect_loud_failure_test.sh"],
        args = ["$(rootpath :%s_run)" % name] + args,
        data = [":" + name + "_run"],
        env = {"EXPECT_RE": expect_re} if expect_re else {},
    )
