# SPDX-License-Identifier: BSD-2-Clause
"""host_test: a host cc_test and its sanitized twins, from one declaration.

    host_test(name = "kheap_test", srcs = [...], deps = [...], threaded = True)

emits :kheap_test, :kheap_test_asan, :kheap_test_ubsan and (threaded) :kheap_test_tsan.
The twins rebuild the test and everything it links (heap/, percpu/, platform/)
with gcc's -fsanitize=... through a transition, so `bazel test //...` runs every
host test under AddressSanitizer and UndefinedBehaviorSanitizer, and the
threaded ones under ThreadSanitizer, with no --config flag and no download.

fault = "NAME" builds the test (and its twins) with one test-only fault
compiled in: the copt -DFAULT=FAULT_NAME, the fault points being named in
<platform/fault.h>. defines = [...] adds other -D copts the same way (a knob
at another value). Both go through the same transition, so no library is
declared twice.

variant_test wraps any executable (a test or a binary with args) in that
transition; qemu.bzl applies the same fault copt to kernels.
"""

load(":strip_sanitizer.bzl", "COPT", "LINKOPT", "strip_sanitizer_flags")

_SANITIZER_FLAGS = {
    "address": ["-fsanitize=address", "-fno-omit-frame-pointer"],
    "undefined": ["-fsanitize=undefined", "-fno-sanitize-recover=all"],
    "thread": ["-fsanitize=thread"],
}

_SUFFIX = {"address": "asan", "undefined": "ubsan", "thread": "tsan"}

def fault_copts(fault):
    """The one copt that selects a fault of <platform/fault.h> ("" for none)."""
    return ["-DFAULT=FAULT_" + fault.upper()] if fault else []

def _variant_impl(settings, attr):
    copts = settings[COPT]
    linkopts = settings[LINKOPT]
    if attr.sanitizer:
        # The twin's sanitizer replaces any a --config=... brought.
        stripped = strip_sanitizer_flags(settings)
        copts = stripped[COPT] + _SANITIZER_FLAGS[attr.sanitizer] + ["-DHOST_SANITIZED"]
        linkopts = stripped[LINKOPT] + _SANITIZER_FLAGS[attr.sanitizer]
    copts = copts + fault_copts(attr.fault) + ["-D" + d for d in attr.defines]
    return {COPT: copts, LINKOPT: linkopts}

_variant = transition(
    implementation = _variant_impl,
    inputs = [COPT, LINKOPT],
    outputs = [COPT, LINKOPT],
)

def _variant_test_impl(ctx):
    dep = ctx.attr.test[0][DefaultInfo]
    binary = dep.files_to_run.executable
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        output = script,
        is_executable = True,
        content = "\n".join([
            "#!/usr/bin/env bash",
            "export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1",
            "export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1",
            "export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1",
            "exec '%s' \"$@\"" % binary.short_path,
            "",
        ]),
    )
    runfiles = ctx.runfiles(files = [binary]).merge(dep.default_runfiles)
    return [DefaultInfo(executable = script, runfiles = runfiles)]

variant_test = rule(
    implementation = _variant_test_impl,
    test = True,
    doc = "Runs `test` (any executable) rebuilt under a sanitizer, a fault and/or defines.",
    attrs = {
        "test": attr.label(mandatory = True, cfg = _variant),
        "sanitizer": attr.string(default = "", values = ["", "address", "undefined", "thread"]),
        "fault": attr.string(default = "", doc = "a fault of <platform/fault.h>, lower case without FAULT_"),
        "defines": attr.string_list(doc = "more -D copts for the whole build"),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
)

def sanitized_variants(name, test, threaded = False, size = "medium", fault = "", defines = [], tags = [], **kwargs):
    """<name>_asan, <name>_ubsan and (threaded) <name>_tsan over the executable `test`.

    Tagged "sanitized", so a build under --config=asan/ubsan/tsan can leave
    the twins out (--build_tag_filters=-sanitized, as .ci/run does).
    """
    sanitizers = ["address", "undefined"] + (["thread"] if threaded else [])
    for s in sanitizers:
        variant_test(
            name = "%s_%s" % (name, _SUFFIX[s]),
            test = test,
            sanitizer = s,
            fault = fault,
            defines = defines,
            size = size,
            tags = tags + ["sanitized"],
            target_compatible_with = ["@platforms//os:linux"],
            **kwargs
        )

def host_test(name, srcs, deps = [], threaded = False, size = "small", fault = "", defines = [], copts = [], local_defines = [], tags = [], **kwargs):
    """A host cc_test and its sanitized twins (see the file's doc)."""
    variant = bool(fault or defines)
    native.cc_test(
        name = name + "_bin" if variant else name,
        srcs = srcs,
        deps = deps,
        size = size,
        copts = copts,
        local_defines = local_defines,
        # A variant's plain build lacks its fault: only the wrapper runs it.
        tags = tags + (["manual"] if variant else []),
        target_compatible_with = ["@platforms//os:linux"],
        **kwargs
    )
    binary = ":" + (name + "_bin" if variant else name)
    if variant:
        variant_test(
            name = name,
            test = binary,
            fault = fault,
            defines = defines,
            size = size,
            tags = tags,
            target_compatible_with = ["@platforms//os:linux"],
            **kwargs
        )
    sanitized_variants(name, binary, threaded = threaded, fault = fault, defines = defines, tags = tags, **kwargs)
