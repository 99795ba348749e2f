"""What `bazel run //:install -- --prefix=DIR` installs, derived from the libraries themselves.

graft_install_files(name, deps, library, version) collects, from the CcInfo of `deps`:
  - every header of graft's repository (installed under include/graft/, keeping the paths that
    graft's own #includes use: -I$prefix/include/graft finds "keras/keras.h");
  - the link flags of the system libraries they use (-ldnnl, -ltbb, -lgomp, -labsl_..., from
    third_party/system.BUILD) and their defines,
and writes graft.pc (pkg-config, with @PREFIX@ for the install script to fill in), the CMake
package files graftConfig.cmake / graftConfigVersion.cmake (relocatable: paths relative to the
file), and a manifest of "runfiles path<TAB>destination" lines for tools/install.sh.
"""

def _link_flags(deps):
    """The link flags (linkopts) of every library in deps, in link order, each once."""
    flags = []
    for dep in deps:
        for li in dep[CcInfo].linking_context.linker_inputs.to_list():
            for flag in li.user_link_flags:
                if flag not in flags:
                    flags.append(flag)
    return flags

def _graft_objects_impl(ctx):
    ws = ctx.label.workspace_name
    objects = []
    for dep in ctx.attr.deps:
        for li in dep[CcInfo].linking_context.linker_inputs.to_list():
            if li.owner.workspace_name == ws:
                for lib in li.libraries:
                    objects.extend(lib.pic_objects or lib.objects)
    linker_input = cc_common.create_linker_input(
        owner = ctx.label,
        user_link_flags = depset(_link_flags(ctx.attr.deps)),
    )
    return [
        DefaultInfo(files = depset(objects)),
        CcInfo(linking_context = cc_common.create_linking_context(
            linker_inputs = depset([linker_input]),
        )),
    ]

# The object files of graft's own libraries among `deps` (as files, for a cc_binary's srcs: an
# object in srcs is always linked, which static registrations need), and as CcInfo only the link
# flags of the libraries they use (for the same cc_binary's deps). Linking the archives instead
# would drop every object nothing in the shared library refers to: all of keras/, for one.
graft_objects = rule(
    implementation = _graft_objects_impl,
    attrs = {"deps": attr.label_list(providers = [CcInfo])},
)

def _dest(f, workspace_name):
    # short_path is "graph/graph.h" in graft's own workspace, "../graft/graph/graph.h" when graft
    # is an external repository.
    p = f.short_path
    prefix = "../" + workspace_name + "/"
    if workspace_name and p.startswith(prefix):
        p = p[len(prefix):]
    return p

def _graft_install_files_impl(ctx):
    ws = ctx.label.workspace_name
    headers = {}
    defines = []
    for dep in ctx.attr.deps:
        cc = dep[CcInfo]
        for h in cc.compilation_context.headers.to_list():
            if h.owner.workspace_name == ws and h.is_source:
                headers[h] = True
        for d in cc.compilation_context.defines.to_list():
            if d not in defines:
                defines.append(d)
    flags = _link_flags(ctx.attr.deps)
    headers = [h for _, h in sorted([(h.short_path, h) for h in headers.keys()])]

    cflags = ["-std=c++20", "-I${includedir}"] + ["-D" + d for d in defines]
    pc = ctx.actions.declare_file(ctx.label.name + "/graft.pc")
    ctx.actions.write(pc, "\n".join([
        "prefix=@PREFIX@",
        "includedir=${prefix}/include/graft",
        "libdir=${prefix}/lib",
        "",
        "Name: graft",
        "Description: C++20 deep-learning framework with a Keras-style API on oneDNN",
        "Version: " + ctx.attr.version,
        "Cflags: " + " ".join(cflags),
        # The rpath lets programs run from a prefix outside the loader's search path.
        "Libs: -L${libdir} -Wl,-rpath,${libdir} -lgraft " + " ".join(flags),
        "",
    ]))

    cmake = ctx.actions.declare_file(ctx.label.name + "/graftConfig.cmake")
    ctx.actions.write(cmake, "\n".join([
        "# graft's CMake package: find_package(graft CONFIG REQUIRED), then",
        "# target_link_libraries(your_target PRIVATE graft::graft). Written by bazel run //:install.",
        "get_filename_component(_graft_prefix \"${CMAKE_CURRENT_LIST_DIR}/../../..\" ABSOLUTE)",
        "if(NOT TARGET graft::graft)",
        "  add_library(graft::graft SHARED IMPORTED)",
        "  set_target_properties(graft::graft PROPERTIES",
        "    IMPORTED_LOCATION \"${_graft_prefix}/lib/libgraft.so\"",
        "    INTERFACE_INCLUDE_DIRECTORIES \"${_graft_prefix}/include/graft\"",
        "    INTERFACE_COMPILE_FEATURES cxx_std_20",
        "    INTERFACE_COMPILE_DEFINITIONS \"" + ";".join(defines) + "\"",
        "    INTERFACE_LINK_LIBRARIES \"" + ";".join(flags) + "\")",
        "endif()",
        "unset(_graft_prefix)",
        "",
    ]))

    version = ctx.actions.declare_file(ctx.label.name + "/graftConfigVersion.cmake")
    ctx.actions.write(version, "\n".join([
        "set(PACKAGE_VERSION \"" + ctx.attr.version + "\")",
        "if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)",
        "  set(PACKAGE_VERSION_COMPATIBLE FALSE)",
        "else()",
        "  set(PACKAGE_VERSION_COMPATIBLE TRUE)",
        "  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)",
        "    set(PACKAGE_VERSION_EXACT TRUE)",
        "  endif()",
        "endif()",
        "",
    ]))

    lib = ctx.file.library
    lines = ["%s\tinclude/graft/%s" % (h.short_path, _dest(h, ws)) for h in headers]
    lines.append("%s\tlib/libgraft.so" % lib.short_path)
    lines.append("%s\tlib/pkgconfig/graft.pc" % pc.short_path)
    lines.append("%s\tlib/cmake/graft/graftConfig.cmake" % cmake.short_path)
    lines.append("%s\tlib/cmake/graft/graftConfigVersion.cmake" % version.short_path)
    manifest = ctx.actions.declare_file(ctx.label.name + "/manifest.txt")
    ctx.actions.write(manifest, "\n".join(lines) + "\n")

    files = [manifest, pc, cmake, version, lib] + headers
    return [DefaultInfo(files = depset([manifest]), runfiles = ctx.runfiles(files = files))]

graft_install_files = rule(
    implementation = _graft_install_files_impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "library": attr.label(allow_single_file = True, mandatory = True),
        "version": attr.string(mandatory = True),
    },
)
