# cmake/aarch64-linux-gnu.cmake - cross-build weft for ARM64 (aarch64) Linux
# with Debian's cross compilers (gcc-aarch64-linux-gnu, g++-aarch64-linux-gnu).
#
# The target libraries (Criterion, Google Benchmark, Concurrency Kit,
# jemalloc, and the arm64 glibc they link against) come from a sysroot made of
# arm64 .deb packages unpacked with `dpkg -x`; tools/arm64.sh builds it under
# the build folder (never with multi-arch installs, which would remove the
# amd64 -dev packages). Point WEFT_ARM64_SYSROOT at it; the presets
# arm64-v8a and arm64-v81a (CMakePresets.json) default to build/arm64-sysroot.
#
# C++ headers and libstdc++ still come from the cross compiler's own tree
# (/usr/aarch64-linux-gnu), which gcc finds relative to itself even with
# --sysroot; the C library headers and crt files come from the sysroot.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

if(NOT WEFT_ARM64_SYSROOT AND DEFINED ENV{WEFT_ARM64_SYSROOT})
  set(WEFT_ARM64_SYSROOT "$ENV{WEFT_ARM64_SYSROOT}")
endif()
if(NOT WEFT_ARM64_SYSROOT)
  get_filename_component(WEFT_ARM64_SYSROOT
    "${CMAKE_CURRENT_LIST_DIR}/../build/arm64-sysroot" ABSOLUTE)
endif()
if(NOT EXISTS "${WEFT_ARM64_SYSROOT}/lib/ld-linux-aarch64.so.1")
  message(FATAL_ERROR "no arm64 sysroot at ${WEFT_ARM64_SYSROOT}: "
    "run `tools/run test` once (tools/arm64.sh builds the sysroot)")
endif()
set(WEFT_ARM64_SYSROOT "${WEFT_ARM64_SYSROOT}" CACHE PATH "arm64 sysroot (unpacked .debs)")
# try_compile projects re-read this file: hand them the sysroot too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES WEFT_ARM64_SYSROOT)

set(CMAKE_SYSROOT "${WEFT_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${WEFT_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config must see the target's .pc files only, never the host's.
set(ENV{PKG_CONFIG_DIR} "")
set(ENV{PKG_CONFIG_LIBDIR}
  "${WEFT_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${WEFT_ARM64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${WEFT_ARM64_SYSROOT}")

# The sysroot's shared libraries pull in others (libcriterion -> libgit2,
# libnanomsg, ...): let the linker resolve them inside the sysroot.
set(CMAKE_EXE_LINKER_FLAGS_INIT
  "-Wl,-rpath-link,${WEFT_ARM64_SYSROOT}/lib/aarch64-linux-gnu:${WEFT_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${CMAKE_EXE_LINKER_FLAGS_INIT}")

# `ctest`/custom commands run target binaries through user-mode qemu.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L "${WEFT_ARM64_SYSROOT}")
