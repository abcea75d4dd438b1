# SPDX-License-Identifier: BSD-2-Clause
"""preload_test: a C program and the sh_test that runs it under the shim.

    preload_test(name = "shim_cases_test", program = "shim_cases", size = "large")

emits the cc_binary :shim_cases (from shim_cases.c and any `hdrs`) and the sh_test
:shim_cases_test (from shim_cases_test.sh), which gets the program and
libsmpheap_malloc.so (and any `data`) as data: the script runs the program
on glibc and under LD_PRELOAD. Tagged PRELOAD_TAGS (below).
"""

_LINUX = ["@platforms//os:linux"]

# Tests that preload the shim into other programs (sort, python3, a test
# program): under a sanitizer config the shim needs that sanitizer's runtime
# in every such process, which they do not load, so .bazelrc's asan, ubsan
# and tsan configs filter them out.
PRELOAD_TAGS = ["preload"]

def preload_test(name, program, size, copts = [], hdrs = [], data = []):
    native.cc_binary(
        name = program,
        srcs = [program + ".c"] + hdrs,
        copts = copts,
        # As a C program links on its own: no libstdc++, whose start-up
        # mallocs (before main) would start the shim earlier than the
        # program's own first malloc does (shim_cases atfork needs that).
        linkopts = ["-Wl,--as-needed", "-lpthread"],
        target_compatible_with = _LINUX,
    )
    native.sh_test(
        name = name,
        size = size,
        tags = PRELOAD_TAGS,
        srcs = [name + ".sh"],
        data = [
            ":libsmpheap_malloc.so",
            ":" + program,
        ] + data,
        target_compatible_with = _LINUX,
    )
