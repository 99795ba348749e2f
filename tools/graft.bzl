"""Bazel macros for graft.

graft_op_library builds a library of ops. Ops register themselves from static initialisers, so
the library is `alwayslink = True`: without it the linker drops the registration. Use it for
graft's own ops and for user ops in another repository:

    load("@graft//tools:graft.bzl", "graft_op_library")
    graft_op_library(name = "swish", srcs = ["swish.cc"])
"""

def graft_op_library(name, srcs, hdrs = [], deps = [], **kwargs):
    native.cc_library(
        name = name,
        srcs = srcs,
        hdrs = hdrs,
        alwayslink = True,
        deps = deps + [
            "//graph",
            "//ops:common",
            "//runtime:kernel",
        ],
        **kwargs
    )
