# SPDX-License-Identifier: BSD-2-Clause
"""preload_test: a C program and the sh_test that runs it under the shim.

    preload_test(name = "shim_cases_test", program = "shim_cases", size = "large")

emits the cc_binary :shim_cases (from shim_cases.c) and the sh_test
:shim_cases_test (from shim_cases_test.sh), which gets the program and
libsmpheap_malloc.so as data: the script runs the program on glibc and
under LD_PRELOAD.
"""

_LINUX = ["@platforms//os:linux"]

def preload_test(name, program, size, copts = []):
    native.cc_binary(
        name = program,
        srcs = [program + ".c"],
        copts = copts,
        linkopts = ["-lpthread"],
        target_compatible_with = _LINUX,
    )
    native.sh_test(
        name = name,
        size = size,
        srcs = [name + ".sh"],
        data = [
            ":libsmpheap_malloc.so",
            ":" + program,
        ],
        target_compatible_with = _LINUX,
    )
