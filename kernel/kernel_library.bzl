# SPDX-License-Identifier: BSD-2-Clause
"""kernel_library: the kernel core over a given ticket lock and RISC-V port.

The real kernel and its test-only variants (a lock that does not wait, a
platform that starts a hart at _start) share one source list, so no binary
links two copies of ticket_lock.o or of the port.
"""

load("//tools/qemu:qemu.bzl", "RISCV_ONLY")

KERNEL_SRCS = [
    "console.c",
    "fmt.c",
    "main.c",
    "panic.c",
]

KERNEL_HDRS = [
    "include/kernel/fmt.h",
    "include/kernel/kernel.h",
]

def kernel_library(name, ticket_lock = "//platform:ticket_lock", riscv = "//platform/riscv", testonly = False):
    # alwayslink: the platform calls kernel_main() and port_panic() from below.
    native.cc_library(
        name = name,
        testonly = testonly,
        srcs = KERNEL_SRCS,
        hdrs = KERNEL_HDRS,
        includes = ["include"],
        deps = ["//platform:port", ticket_lock, riscv],
        alwayslink = True,
        target_compatible_with = RISCV_ONLY,
    )
