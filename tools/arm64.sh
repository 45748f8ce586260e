# tools/arm64.sh - the ARM64 half of `tools/run test`, sourced by tools/run.
#
# Cross-builds weft for two ARM64 targets and runs the whole suite (the
# Criterion binary: unit tests + stress bodies) under user-mode qemu:
#   arm64-v8a   -march=armv8-a -mno-outline-atomics: every atomic is an
#               inline LL/SC loop (ldaxr/stlxr); run on an emulated
#               Cortex-A57 (ARMv8.0, no LSE), so a stray LSE instruction
#               would be SIGILL rather than silently work.
#   arm64-v81a  -march=armv8.1-a: inline LSE atomics (cas/casal/ldadd...),
#               run on qemu's "max" CPU.
# and cross-builds the benchmark binary, running it once as a smoke test
# (its numbers are emulation artefacts: never results, never reported).
#
# Target libraries come from a sysroot of arm64 .debs fetched with
# `apt-get download` through a private apt state (its own lists, arch arm64)
# and unpacked with `dpkg -x` under $BUILD_ROOT; the host's dpkg database is
# never touched (a multi-arch install of libcriterion-dev:arm64 would remove
# the amd64 -dev packages). Downloads and the sysroot are cached there.
#
# Needs from tools/run: BUILD_ROOT, JOBS, say, build, run_criterion, count.

# Host (amd64) packages: cross compilers, qemu-user and the binfmt_misc
# entry for qemu-aarch64 (qemu-user-binfmt ships it in /usr/lib/binfmt.d).
ARM64_HOST_PACKAGES=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu
                     qemu-user qemu-user-binfmt)
# Target (arm64) packages unpacked into the sysroot, with their dependencies.
ARM64_TARGET_PACKAGES=(libc6-dev libcriterion-dev libbenchmark-dev libck-dev liburcu-dev libconcurrentqueue-dev
                       libjemalloc-dev)
ARM64_PRESETS=(arm64-v8a arm64-v81a)
# Emulation is ~10-30x slower than the host: shrink the stress tests.
ARM64_STRESS_SCALE=${WEFT_ARM64_STRESS_SCALE:-0.25}
# Bounds on how fast something happens (not timeouts) are multiplied by
# this under emulation (tests/test_util.h, weft_test_time_scale).
ARM64_TIME_SCALE=25

arm64_die() { echo "arm64: $*" >&2; exit 1; }

# apt-get with a private state: arm64 indices only, empty dpkg status (so
# dependency resolution lists the whole closure), no system lock.
arm64_apt() {
  local a=$BUILD_ROOT/arm64-apt
  mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
  [ -e "$a/status" ] || : >"$a/status"
  apt-get -q -o APT::Architecture=arm64 -o 'APT::Architectures::=arm64' \
    -o Dir::State::Lists="$a/lists" -o Dir::State::status="$a/status" \
    -o Dir::Cache="$a/cache" -o Debug::NoLocking=1 \
    -o APT::Sandbox::User="$(id -un)" "$@"
}

arm64_fetch_debs() { # dir: download the closure of ARM64_TARGET_PACKAGES
  local debs=$1 pkgs
  pkgs=$(arm64_apt -s install --no-install-recommends "${ARM64_TARGET_PACKAGES[@]}" |
    awk '/^Inst /{print $2}') || return 1
  [ -n "$pkgs" ] || return 1
  rm -rf "$debs.tmp" && mkdir -p "$debs.tmp"
  # shellcheck disable=SC2086
  (cd "$debs.tmp" && arm64_apt download $pkgs >/dev/null) || return 1
  rm -rf "$debs" && mv "$debs.tmp" "$debs"
}

# Build (once) the sysroot $BUILD_ROOT/arm64-sysroot.
arm64_sysroot() {
  local sr=$BUILD_ROOT/arm64-sysroot debs=$BUILD_ROOT/arm64-apt/debs
  local stamp="packages: ${ARM64_TARGET_PACKAGES[*]}"
  if [ -f "$sr/.weft-sysroot" ] && [ "$(cat "$sr/.weft-sysroot")" = "$stamp" ]; then
    return 0
  fi
  say "arm64: fetching the sysroot packages (apt-get download, cached in $BUILD_ROOT/arm64-apt)"
  if ! { [ -d "$BUILD_ROOT/arm64-apt/lists" ] && arm64_fetch_debs "$debs"; }; then
    # No or stale indices (a package moved on): refresh them and retry.
    arm64_apt update >/dev/null || arm64_die "apt-get update (arm64 indices) failed"
    arm64_fetch_debs "$debs" || arm64_die "apt-get download of arm64 packages failed"
  fi
  rm -rf "$sr" && mkdir -p "$sr"
  local d
  for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$sr"; done
  # Absolute symlinks (libz.so -> /lib/aarch64-linux-gnu/libz.so.1) would
  # point into the host: make them relative inside the sysroot.
  local l t
  while IFS= read -r -d '' l; do
    t=$(readlink "$l")
    ln -sfnr "$sr$t" "$l"
  done < <(find "$sr" -type l -lname '/*' -print0)
  printf '%s\n' "$stamp" >"$sr/.weft-sysroot"
}

# Criterion runs every test in a re-executed copy of the test binary
# (BoxFort execs /proc/self/exe). Under qemu-user that exec is a real host
# execve of an aarch64 ELF: without a binfmt_misc entry the kernel refuses it
# (ENOEXEC) and the Criterion parent waits for a child that never reports -
# the hang. Registering qemu-aarch64 with binfmt_misc makes that exec start
# a fresh qemu, which inherits QEMU_LD_PREFIX/QEMU_CPU from the environment.
ARM64_BINFMT_CONF=/usr/lib/binfmt.d/qemu-aarch64.conf
arm64_binfmt() {
  local bm=/proc/sys/fs/binfmt_misc root=0
  [ "$(id -u)" -eq 0 ] && root=1
  if [ ! -e "$bm/register" ]; then
    [ $root -eq 1 ] || arm64_die "binfmt_misc is not mounted at $bm; as root:
  mount -t binfmt_misc binfmt_misc $bm && cat $ARM64_BINFMT_CONF > $bm/register"
    mount -t binfmt_misc binfmt_misc "$bm" ||
      arm64_die "cannot mount binfmt_misc at $bm"
  fi
  if [ -e "$bm/status" ] && [ "$(cat "$bm/status")" != enabled ]; then
    [ $root -eq 1 ] || arm64_die "binfmt_misc is disabled; as root: echo 1 > $bm/status"
    echo 1 >"$bm/status"
  fi
  if [ -e "$bm/qemu-aarch64" ]; then
    local interp
    interp=$(sed -n 's/^interpreter //p' "$bm/qemu-aarch64")
    if head -1 "$bm/qemu-aarch64" | grep -qx enabled && [ -x "$interp" ]; then
      return 0
    fi
    [ $root -eq 1 ] || arm64_die "binfmt_misc entry qemu-aarch64 is disabled or its interpreter '$interp' is missing; as root:
  echo -1 > $bm/qemu-aarch64 && cat $ARM64_BINFMT_CONF > $bm/register"
    echo -1 >"$bm/qemu-aarch64"
  fi
  [ -r "$ARM64_BINFMT_CONF" ] || arm64_die "$ARM64_BINFMT_CONF missing (package qemu-user-binfmt)"
  [ $root -eq 1 ] || arm64_die "no binfmt_misc entry for aarch64 ELF binaries; as root:
  cat $ARM64_BINFMT_CONF > $bm/register"
  say "arm64: registering qemu-aarch64 with binfmt_misc"
  cat "$ARM64_BINFMT_CONF" >"$bm/register" || arm64_die "binfmt_misc registration failed"
}

# A hang under emulation (a lost wake-up, a broken exec) must fail CI, not
# stall it: each emulated run gets this many seconds (its process group is
# killed after that).
ARM64_TIMEOUT_S=${WEFT_ARM64_TIMEOUT:-600}

# Run an aarch64 binary under qemu with the sysroot as its root for the
# dynamic loader; QEMU_* reach the re-executed children through the env.
arm64_exec() { # preset command...
  local cpu=max
  [ "$1" = arm64-v8a ] && cpu=cortex-a57
  shift
  # G_SLICE=always-malloc: qemu-user 7.2 allocates translation blocks from
  # GLib's slice allocator, whose lock a fork() does not reset; a process
  # forked while another of its threads held it (Criterion's runner forks
  # each test worker) hangs at its first translation. Seen: a runner that
  # waited 11 minutes for such a child. malloc is fork-safe.
  G_SLICE=always-malloc QEMU_LD_PREFIX=$BUILD_ROOT/arm64-sysroot QEMU_CPU=$cpu \
    WEFT_STRESS_SCALE=${WEFT_STRESS_SCALE:-$ARM64_STRESS_SCALE} \
    WEFT_TEST_TIME_SCALE=${WEFT_TEST_TIME_SCALE:-$ARM64_TIME_SCALE} \
    timeout -k 10 "$ARM64_TIMEOUT_S" qemu-aarch64 "$@"
}

# Before any build: fail early if the sysroot or binfmt_misc can't be had.
arm64_prepare() {
  arm64_sysroot
  arm64_binfmt
}

# Build and run both ARM64 builds; each prints its own summary line.
arm64_test() { # first-step total-steps
  local step=$1 steps=$2 preset
  for preset in "${ARM64_PRESETS[@]}"; do
    step=$((step + 1))
    say "[$step/$steps] $preset: cross-build"
    build "$preset" -DWEFT_ARM64_SYSROOT="$BUILD_ROOT/arm64-sysroot"
    say "[$step/$steps] $preset: run under qemu-aarch64"
    local p0=$PASSED f0=$FAILED
    RETRY_KILLED=1 run_criterion "$preset" arm64_exec "$preset" "$BUILD_ROOT/$preset/tests/weft_tests"
    echo "$preset: $((PASSED - p0)) passed, $((FAILED - f0)) failed"
    arm64_bench_smoke "$preset"
  done
  # docs/arm64.md lists the fast paths' instructions: say when it is stale.
  "$ROOT/tools/fastpath_asm.sh" --check ||
    echo "warning: docs/arm64.md is stale; run tools/fastpath_asm.sh and commit it"
}

# One short benchmark run under emulation (every benchmark's single-thread
# row, tiny min_time): proves the ARM64 benchmark binary builds, links its
# peers and runs every body. Output is discarded: emulated timings
# say nothing about ARM64 performance and must never be reported.
arm64_bench_smoke() { # preset
  local bin=$BUILD_ROOT/$1/bench/weft_bench out rc=0
  out=$(arm64_exec "$1" "$bin" --benchmark_filter='/threads:1$' \
    --benchmark_min_time=0.001 2>&1) || rc=$?
  if [ $rc -eq 0 ] && grep -q 'threads:1 ' <<<"$out"; then
    echo "$1: benchmark smoke test ran (emulated; timings discarded)"
  else
    printf '%s\n' "$out" | tail -20
    echo "$1: benchmark smoke test failed (exit $rc)"
    count 0 1
  fi
}
