"""Bazel macros for graft.

graft_op_library builds a library of ops. Ops register themselves from static initialisers, so
the library is `alwayslink = True`: without it the linker drops the registration. Use it for
graft's own ops and for user ops in another repository (whose WORKSPACE calls graft_deps(), see
deps.bzl):

    load("@graft//tools:graft.bzl", "graft_op_library")
    graft_op_library(name = "swish", srcs = ["swish.cc"])

The labels below are Label()s, resolved against graft's repository wherever the macro is called
from (a plain "//graph" would name the caller's own //graph).
"""

GRAFT_OP_DEPS = [
    Label("//graph"),
    Label("//ops:common"),
    Label("//runtime:kernel"),
]

def graft_op_library(name, srcs, hdrs = [], deps = [], **kwargs):
    native.cc_library(
        name = name,
        srcs = srcs,
        hdrs = hdrs,
        alwayslink = True,
        deps = deps + GRAFT_OP_DEPS,
        **kwargs
    )
