# SPDX-License-Identifier: BSD-2-Clause
"""qemu_run and qemu_test: boot a kernel built for RISC-V from a host target.

The kernel attribute goes through a transition to //tools/platforms:qemu_virt,
so `bazel run //tests:qemu_smp` and `bazel test //...` need no flags: the
kernel is cross-built, the runner script runs on the host. Other rules that
cross-build a kernel (percpu's hit_pair_test) use the same transition,
to_riscv.
"""

load("//tools/testing:host_test.bzl", "fault_copts")
load("//tools/testing:strip_sanitizer.bzl", "COPT", "LINKOPT", "strip_sanitizer_flags")

_PLATFORMS = "//command_line_option:platforms"

def _to_riscv_impl(settings, attr):
    # A rule using this transition may declare `bios` and `fault` (as
    # qemu_test does); one that does not gets OpenSBI and no fault.
    bios = getattr(attr, "bios", "opensbi")
    fault = getattr(attr, "fault", "")

    # A host --config=asan/ubsan/tsan does not reach the kernel (no
    # sanitizer runtime there); `fault` compiles one test-only fault in.
    out = strip_sanitizer_flags(settings)
    out[COPT] = out[COPT] + fault_copts(fault)

    # bios = "none": the M-mode port (platform/riscv_mmode) via its platform.
    out[_PLATFORMS] = "//tools/platforms:qemu_virt_bios_none" if bios == "none" else "//tools/platforms:qemu_virt"
    return out

to_riscv = transition(
    implementation = _to_riscv_impl,
    inputs = [COPT, LINKOPT],
    outputs = [_PLATFORMS, COPT, LINKOPT],
)

def _shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"

def _qemu_impl(ctx):
    kernel = ctx.attr.kernel[0][DefaultInfo].files_to_run.executable
    runner = ctx.executable._runner
    args = ["--kernel", kernel.short_path, "--smp", str(ctx.attr.smp),
            "--timeout", str(ctx.attr.watchdog_seconds)]
    if ctx.attr.max_smp:
        args += ["--max-smp", str(ctx.attr.max_smp)]
    if ctx.attr.watchdog_seconds_per_hart:
        args += ["--timeout-per-hart", str(ctx.attr.watchdog_seconds_per_hart)]
    if ctx.attr.watchdog_silence_seconds:
        args += ["--silence", str(ctx.attr.watchdog_silence_seconds)]
    if ctx.attr.bios == "none":
        args += ["--bios", "none"]
    if ctx.attr.mem:
        args += ["--mem", ctx.attr.mem]
    if ctx.attr.icount:
        args.append("--icount")
    for k, v in ctx.attr.bootargs.items():
        args += ["--" + k, v]
    if ctx.attr.expect_exit >= 0:
        args += ["--expect-exit", str(ctx.attr.expect_exit)]
    for e in ctx.attr.expect:
        args += ["--expect", e]
    if ctx.attr.expect_last:
        args += ["--expect-last", ctx.attr.expect_last]

    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        output = script,
        is_executable = True,
        content = "#!/usr/bin/env bash\nexec {runner} {args} \"$@\"\n".format(
            runner = _shell_quote(runner.short_path),
            args = " ".join([_shell_quote(a) for a in args]),
        ),
    )
    runfiles = ctx.runfiles(files = [kernel, runner])
    return [DefaultInfo(executable = script, runfiles = runfiles)]

_ATTRS = {
    "kernel": attr.label(
        mandatory = True,
        cfg = to_riscv,
        doc = "cc_binary of the kernel ELF, built for RISC-V.",
    ),
    "bios": attr.string(
        default = "opensbi",
        values = ["opensbi", "none"],
        doc = "opensbi: S-mode kernel at 0x80200000; none: -bios none, M-mode kernel at 0x80000000",
    ),
    "fault": attr.string(doc = "a test-only fault of <platform/fault.h> built into the kernel, lower case without FAULT_"),
    "smp": attr.int(default = 4, doc = "harts (-smp); the command line may override"),
    "max_smp": attr.int(
        default = 0,
        doc = "the most harts the kernel runs (its PORT_MAX_HARTS), if fewer than the firmware boots; the runner refuses more",
    ),
    "mem": attr.string(doc = "QEMU's RAM (-m), if not the runner's default"),
    "icount": attr.bool(default = False, doc = "-icount shift=0: exact rdinstret"),
    "watchdog_seconds": attr.int(default = 240),
    "watchdog_seconds_per_hart": attr.int(
        default = 0,
        doc = "if more, the watchdog is this times the hart count (--smp on the command line counts)",
    ),
    "watchdog_silence_seconds": attr.int(
        default = 0,
        doc = "if not 0, a kernel that prints nothing for this long is killed as hung",
    ),
    "bootargs": attr.string_dict(doc = "key=value passed to the kernel"),
    "expect_exit": attr.int(default = -1, doc = "expected exit code (tests)"),
    "expect": attr.string_list(doc = "regexes the console must contain"),
    "expect_last": attr.string(doc = "regex the last console line must match"),
    "_runner": attr.label(
        default = "//tools/qemu:run_qemu",
        executable = True,
        cfg = "target",
    ),
    "_allowlist_function_transition": attr.label(
        default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
    ),
}

qemu_run = rule(implementation = _qemu_impl, attrs = _ATTRS, executable = True)

qemu_test = rule(implementation = _qemu_impl, attrs = _ATTRS, test = True)

RISCV_ONLY = [
    "@platforms//cpu:riscv64",
    "@platforms//os:none",
]

def kernel_binary(name, srcs, deps, testonly = False, copts = [], linkopts = []):
    """A kernel ELF for QEMU virt: linked at 0x80200000 by kernel.ld.

    linkopts may override the linker script's symbols, for example
    "-Wl,--defsym=HEAP_SIZE=0x8000000" for a 128 MiB heap.
    """
    native.cc_binary(
        name = name,
        testonly = testonly,
        srcs = srcs,
        deps = deps,
        copts = copts,
        additional_linker_inputs = ["//platform/riscv:kernel.ld"],
        linkopts = ["-T", "$(location //platform/riscv:kernel.ld)"] + linkopts,
        target_compatible_with = RISCV_ONLY,
    )

def qemu_bad_bootarg_tests(kernel, smp, cases, **kwargs):
    """One qemu_test per (name, bootargs, expect) in cases: a bootarg out of
    range is named and stops the kernel with exit 2 (not run as another
    job), its message matching expect."""
    for name, bootargs, expect in cases:
        qemu_test(
            name = name,
            size = "small",
            bootargs = bootargs,
            expect = [expect],
            expect_exit = 2,
            kernel = kernel,
            smp = smp,
            **kwargs
        )

def qemu_test_cases(cases, **shared):
    """One qemu_test per entry of cases, name: its own attributes (they win
    over shared's). Tests of one kernel that differ only in bootargs and
    expectations state the kernel, harts and watchdog they share once."""
    for name, own in cases.items():
        attrs = dict(shared)
        attrs.update(own)
        qemu_test(name = name, **attrs)
