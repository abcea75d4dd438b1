# SPDX-License-Identifier: BSD-2-Clause
"""heap_library: a library of heap/ built with the package's options and
include root (both of them, the core and the locked heap, say these once)."""

# The model and efficiency tests run millions of operations: optimise even in
# the default fastbuild mode (and under the sanitizer configs).
HEAP_COPTS = ["-O2"]

# The hardening levels (<heap/hardening.h>): //heap:hardening_is_N for each,
# and what `--define hardening=N` may say; the macro that carries the
# define's level to <heap/hardening.h>.
HARDENING_LEVELS = [0, 1, 2, 3]
HARDENING_FROM_DEFINE = "HEAP_HARDENING_FROM_DEFINE"

def heap_library(name, **kwargs):
    native.cc_library(
        name = name,
        copts = HEAP_COPTS,
        includes = ["include"],
        **kwargs
    )
