# SPDX-License-Identifier: BSD-2-Clause
"""sanitized_test: runs an existing host cc_test rebuilt under a sanitizer.

The test and everything it links (heap/, percpu/, platform/) are rebuilt
with gcc's -fsanitize=address, undefined or thread through a transition, so
`bazel test //...` runs the sanitized suites with no --config flag.
"""

_FLAGS = {
    "address": ["-fsanitize=address", "-fno-omit-frame-pointer"],
    "undefined": ["-fsanitize=undefined", "-fno-sanitize-recover=all"],
    "thread": ["-fsanitize=thread"],
}

def _sanitize_impl(settings, attr):
    flags = _FLAGS[attr.sanitizer] + ["-DHOST_SANITIZED"]
    return {
        "//command_line_option:copt": settings["//command_line_option:copt"] + flags,
        "//command_line_option:linkopt": settings["//command_line_option:linkopt"] + _FLAGS[attr.sanitizer],
    }

_sanitize = transition(
    implementation = _sanitize_impl,
    inputs = ["//command_line_option:copt", "//command_line_option:linkopt"],
    outputs = ["//command_line_option:copt", "//command_line_option:linkopt"],
)

def _impl(ctx):
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

sanitized_test = rule(
    implementation = _impl,
    test = True,
    attrs = {
        "test": attr.label(mandatory = True, cfg = _sanitize),
        "sanitizer": attr.string(mandatory = True, values = ["address", "undefined", "thread"]),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
)

def sanitized_tests(tests, sanitizers = ["address", "undefined"], prefix = "", **kwargs):
    """One sanitized_test per (test, sanitizer): [prefix]<test>_asan, _ubsan, _tsan.

    tests are target names in this package or labels ("//heap:model_test").
    """
    suffix = {"address": "asan", "undefined": "ubsan", "thread": "tsan"}
    for t in tests:
        label = t if ":" in t else ":" + t
        base = label.split(":")[-1]
        for s in sanitizers:
            sanitized_test(
                name = "%s%s_%s" % (prefix, base, suffix[s]),
                test = label,
                sanitizer = s,
                target_compatible_with = ["@platforms//os:linux"],
                **kwargs
            )
