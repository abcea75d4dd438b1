# SPDX-License-Identifier: BSD-2-Clause
"""strip_sanitizer_flags: a transition's copt and linkopt without sanitizer flags.

A --config=asan/ubsan/tsan on the command line puts clang's -fsanitize=...
(and -DHOST_SANITIZED) into copt and linkopt. Two kinds of transition must
drop them: the one to RISC-V (a kernel has no sanitizer runtime) and the
sanitized twins of host_test (the twin's own sanitizer replaces them: ASan
and TSan do not mix). This file is the one place that says which flags those
are; both transitions start from its result.
"""

COPT = "//command_line_option:copt"
LINKOPT = "//command_line_option:linkopt"

def is_sanitizer_flag(f):
    return f.startswith("-fsanitize") or f.startswith("-fno-sanitize") or f == "-DHOST_SANITIZED"

def strip_sanitizer_flags(settings):
    """{COPT: [...], LINKOPT: [...]} of settings, the sanitizer flags left out."""
    return {
        key: [f for f in settings[key] if not is_sanitizer_flag(f)]
        for key in (COPT, LINKOPT)
    }
