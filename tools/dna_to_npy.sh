#!/usr/bin/env bash
# Converts the StatLog DNA splice-junction data from R's mlbench package into the .npy files that
# graft::keras::datasets::LoadDna() reads:
#   <out_dir>/x_train.npy  float32 (2000, 60, 3)   <out_dir>/y_train.npy  int64 (2000,)
#   <out_dir>/x_test.npy   float32 (1186, 60, 3)   <out_dir>/y_test.npy   int64 (1186,)
# Usage: tools/dna_to_npy.sh [out_dir]        (default: data/dna)
# Needs Rscript and the mlbench package (Debian: apt-get install r-cran-mlbench). R writes the
# files itself (header + little-endian writeBin); no Python. Running it again rewrites identical
# files; each file is written to a temporary name and renamed into place.
#
# Layout of mlbench's DNA: a data frame of 3186 rows, columns V1..V180 (factors with levels
# "0", "1") and Class (factor: ei, ie, n). Nucleotide p (1-based) is V(3p-2), V(3p-1), V(3p):
# A = 1 0 0, C = 0 1 0, G = 0 0 1, T = 0 0 0. So row i of the data frame, read V1..V180 in
# order, is exactly sample i of x in (60, 3) row-major order. Labels: ei = 0, ie = 1, n = 2.
# The first 2000 rows are StatLog's training set (dna.trn), the last 1186 its test set (dna.tst).
set -euo pipefail

out_dir="${1:-data/dna}"

if ! command -v Rscript >/dev/null 2>&1; then
  echo "error: Rscript not found; install R" \
       "(Debian: apt-get install r-base-core r-cran-mlbench)" >&2
  exit 1
fi
if ! Rscript -e 'quit(status = if (requireNamespace("mlbench", quietly = TRUE)) 0 else 1)' \
    >/dev/null 2>&1; then
  echo "error: the R package mlbench is not installed (Debian: apt-get install r-cran-mlbench;" \
       "elsewhere: Rscript -e 'install.packages(\"mlbench\")')" >&2
  exit 1
fi
mkdir -p "$out_dir"

script="$(mktemp "${TMPDIR:-/tmp}/dna_to_npy.XXXXXX.R")"
trap 'rm -f "$script"' EXIT
cat >"$script" <<'RSCRIPT'
args <- commandArgs(trailingOnly = TRUE)
out_dir <- args[1]
data(DNA, package = "mlbench")

n_train <- 2000L
steps <- 60L
channels <- 3L
attrs <- paste0("V", seq_len(steps * channels))
stopifnot(identical(names(DNA), c(attrs, "Class")), nrow(DNA) == 3186L,
          identical(levels(DNA$Class), c("ei", "ie", "n")))

# 0/1 matrix, rows = samples, columns = V1..V180 (factor labels, not the level codes).
m <- sapply(DNA[attrs], function(col) as.integer(as.character(col)))
stopifnot(all(m %in% c(0L, 1L)))
# Every nucleotide's three indicators hold at most one 1.
stopifnot(all(rowsum(t(m), rep(seq_len(steps), each = channels)) <= 1L))
labels <- as.integer(DNA$Class) - 1L  # ei = 0, ie = 1, n = 2

# Writes an .npy file (format 1.0): magic, version, header length, the header dict padded with
# spaces to a multiple of 64 bytes and ended by a newline, then the data in C order.
write_npy <- function(path, values, descr, shape, size) {
  shape_text <- if (length(shape) == 1) paste0("(", shape, ",)") else
    paste0("(", paste(shape, collapse = ", "), ")")
  header <- paste0("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape_text,
                   ", }")
  pad <- (64 - (10 + nchar(header) + 1) %% 64) %% 64
  header <- paste0(header, strrep(" ", pad), "\n")
  tmp <- paste0(path, ".tmp")
  con <- file(tmp, "wb")
  writeBin(as.raw(c(0x93, charToRaw("NUMPY"), 1, 0)), con)
  writeBin(as.integer(nchar(header)), con, size = 2, endian = "little")
  writeBin(charToRaw(header), con)
  if (descr == "<f4") {
    writeBin(as.numeric(values), con, size = 4, endian = "little")
  } else {
    # int64 as (low, high) 32-bit halves: portable where writeBin lacks 8-byte integers.
    stopifnot(all(values >= 0L))
    writeBin(as.vector(rbind(as.integer(values), 0L)), con, size = 4, endian = "little")
  }
  close(con)
  stopifnot(file.rename(tmp, path))
}

# Row-major (N, 60, 3): sample-major, then V1..V180 -> as.vector(t(m)).
write_x <- function(rows, name) {
  write_npy(file.path(out_dir, paste0(name, ".npy")), as.vector(t(m[rows, , drop = FALSE])),
            "<f4", c(length(rows), steps, channels))
}
write_y <- function(rows, name) {
  write_npy(file.path(out_dir, paste0(name, ".npy")), labels[rows], "<i8", length(rows))
}
train <- seq_len(n_train)
test <- seq(n_train + 1L, nrow(m))
write_x(train, "x_train")
write_y(train, "y_train")
write_x(test, "x_test")
write_y(test, "y_test")
cat(sprintf("wrote %s/{x,y}_{train,test}.npy: %d train, %d test rows\n", out_dir,
            length(train), length(test)))
cat("train classes (ei, ie, n):", tabulate(labels[train] + 1L, 3L), "\n")
cat("test classes  (ei, ie, n):", tabulate(labels[test] + 1L, 3L), "\n")
RSCRIPT
Rscript --vanilla "$script" "$out_dir"
