"""graft_deps(): the external repositories graft needs, declared once for graft's own WORKSPACE
and for any workspace that depends on graft:

    local_repository(name = "graft", path = "path/to/graft")   # or an http_archive
    load("@graft//:deps.bzl", "graft_deps")
    graft_deps()

It declares, unless the workspace already has a repository of that name:
  - rules_cc, rules_java, remote_coverage_tools: offline stand-ins (third_party/) for the rule
    repositories Bazel 4.2.3 would otherwise download (see ../shared/BUILDING.md);
  - system: Debian's libraries under /usr (oneDNN, oneTBB, Abseil, GoogleTest, ...), with the
    targets in third_party/system.BUILD (graft's BUILD files name them @system//:...).
graft is C++20: the workspace's .bazelrc needs `build --cxxopt=-std=c++20`.
"""

def _graft_stand_in_impl(rctx):
    # The stand-in's folder inside graft's checkout, wherever graft itself lives: found through
    # a file of graft's (a Label resolves against graft's repository, not the caller's).
    folder = rctx.path(rctx.attr._anchor).dirname.get_child(rctx.attr.folder)
    for child in folder.readdir():
        rctx.symlink(child, child.basename)

_graft_stand_in = repository_rule(
    implementation = _graft_stand_in_impl,
    attrs = {
        "folder": attr.string(mandatory = True),
        "_anchor": attr.label(default = Label("//third_party:system.BUILD")),
    },
    local = True,
)

def graft_deps():
    """Declares the repositories graft's BUILD files use (each only when not declared yet)."""
    for name in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        if not native.existing_rule(name):
            _graft_stand_in(name = name, folder = name)
    if not native.existing_rule("system"):
        native.new_local_repository(
            name = "system",
            path = "/usr",
            build_file = str(Label("//third_party:system.BUILD")),
        )
