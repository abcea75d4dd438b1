# SPDX-License-Identifier: BSD-2-Clause
"""cc_toolchain_config for Debian's riscv64-unknown-elf-gcc: bare-metal rv64gc.

Every C file built for the kernel gets the freestanding flags and
-Wall -Wextra -Werror; there is no libc, so nothing is linked by default but
libgcc (for the compiler's own helpers).
"""

load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
)
load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")

_COMPILE = [
    ACTION_NAMES.assemble,
    ACTION_NAMES.preprocess_assemble,
    ACTION_NAMES.c_compile,
    ACTION_NAMES.cpp_compile,
]

_LINK = [
    ACTION_NAMES.cpp_link_executable,
]

_PREFIX = "/usr/bin/riscv64-unknown-elf-"

def _impl(ctx):
    tools = ["gcc", "ld", "ar", "cpp", "gcov", "nm", "objdump", "strip"]
    tool_paths = [tool_path(name = t, path = _PREFIX + t) for t in tools]

    arch = ["-march=rv64gc", "-mabi=lp64d", "-mcmodel=medany"]
    features = [
        feature(
            name = "riscv_bare_metal",
            enabled = True,
            flag_sets = [
                flag_set(
                    actions = _COMPILE,
                    flag_groups = [flag_group(flags = arch + [
                        "-std=gnu11",
                        "-ffreestanding",
                        "-fno-builtin",
                        "-fno-common",
                        "-fno-omit-frame-pointer",
                        "-O2",
                        "-g",
                        "-Wall",
                        "-Wextra",
                        "-Werror",
                        # Keep builds reproducible: no absolute paths or dates.
                        "-no-canonical-prefixes",
                        "-fno-canonical-system-headers",
                        "-Wno-builtin-macro-redefined",
                        "-D__DATE__=\"redacted\"",
                        "-D__TIMESTAMP__=\"redacted\"",
                        "-D__TIME__=\"redacted\"",
                    ])],
                ),
                flag_set(
                    actions = _LINK,
                    flag_groups = [flag_group(flags = arch + [
                        "-nostdlib",
                        "-nostartfiles",
                        "-static",
                    ])],
                ),
            ],
        ),
        # libgcc goes last, after every object that may call into it.
        feature(
            name = "libgcc_last",
            enabled = True,
            flag_sets = [flag_set(
                actions = _LINK,
                flag_groups = [flag_group(flags = ["-lgcc"])],
            )],
        ),
        feature(name = "supports_pic", enabled = False),
    ]

    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = features,
        cxx_builtin_include_directories = [
            "/usr/lib/gcc/riscv64-unknown-elf/12.2.0/include",
            "/usr/lib/gcc/riscv64-unknown-elf/12.2.0/include-fixed",
            "/usr/lib/gcc/riscv64-unknown-elf",
        ],
        toolchain_identifier = "riscv64-unknown-elf",
        host_system_name = "x86_64-linux-gnu",
        target_system_name = "riscv64-unknown-elf",
        target_cpu = "riscv64",
        target_libc = "none",
        compiler = "gcc",
        abi_version = "lp64d",
        abi_libc_version = "none",
        tool_paths = tool_paths,
    )

riscv64_elf_config = rule(
    implementation = _impl,
    attrs = {},
    provides = [CcToolchainConfigInfo],
)
