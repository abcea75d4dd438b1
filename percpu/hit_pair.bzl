# SPDX-License-Identifier: BSD-2-Clause
"""hit_pair_test: counts the RV64 instructions of kmalloc's and kfree's hit
paths in a kernel ELF cross-built through a transition to QEMU virt (as
qemu_test does), and fails above the budget <percpu/config.h> states."""

# qemu_test's transition: QEMU virt with OpenSBI, a host --config=asan/ubsan/tsan
# left out of the kernel.
load("//tools/qemu:qemu.bzl", "to_riscv")

def _impl(ctx):
    kernel = ctx.attr.kernel[0][DefaultInfo].files_to_run.executable
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        output = script,
        is_executable = True,
        content = "#!/bin/sh\nexec sh '{s}' '{k}' '{c}' '{l}' \"$@\"\n".format(
            s = ctx.file._count.short_path,
            k = kernel.short_path,
            c = ctx.file._config.short_path,
            l = ctx.attr.level,
        ),
    )
    return [DefaultInfo(
        executable = script,
        runfiles = ctx.runfiles(files = [kernel, ctx.file._count, ctx.file._config]),
    )]

hit_pair_test = rule(
    implementation = _impl,
    test = True,
    attrs = {
        "kernel": attr.label(mandatory = True, cfg = to_riscv),
        "level": attr.string(mandatory = True, doc = "the build's HEAP_HARDENING"),
        "_count": attr.label(default = "//percpu:count_fastpath.sh", allow_single_file = True),
        "_config": attr.label(default = "//percpu:include/percpu/config.h", allow_single_file = True),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
)
