# SPDX-License-Identifier: BSD-2-Clause
"""internals_test: a host test that reads percpu's hidden records."""

def internals_test(name, deps = [":percpu_internal", ":test_util"], **kwargs):
    """A cc_test of tests/NAME.c linked with percpu as one static unit.

    percpu's records are hidden symbols (percpu_internal.h): a test that
    reads them links percpu statically into its own binary, as a plain
    cc_test with no sanitized twins. kwargs (linkopts, tags) go to the
    cc_test as given.
    """
    native.cc_test(
        name = name,
        srcs = ["tests/%s.c" % name],
        linkstatic = True,
        target_compatible_with = ["@platforms//os:linux"],
        deps = deps,
        **kwargs
    )
