# Sourced by the system test scripts (run.sh: QEMU; bochs_avx512.sh: Bochs): skip(), the cache
# directory, installing Debian packages, Debian's own kernel (downloaded once), packing the
# initramfs, and turning the guest's console log into the script's exit status.

skip() { echo "SKIP: $*"; exit 77; }
cache=${MCSAFE_SYSTEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mcsafe-system}
mkdir -p "$cache"

# Installs the Debian packages named (the caller names the missing ones); skips when apt cannot.
install_packages() {
  (($#)) || return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"; } \
    >"$cache/apt.log" 2>&1 || skip "could not install $* (see $cache/apt.log)"
}

# Debian's kernel package, newest 6.1 flavour, downloaded once into the cache. Sets deb,
# vmlinuz and mods (the module tree).
fetch_debian_kernel() {
  deb=$(ls "$cache"/linux-image-6.1.0-*-amd64_*.deb 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$deb" ]; then
    local pkg
    pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null | awk '{print $1}' | sort -V | tail -1)
    [ -n "$pkg" ] || skip "no linux-image-6.1.0-*-amd64 package in the apt sources"
    (cd "$cache" && apt-get download -q "$pkg" >/dev/null 2>&1) || skip "apt-get download $pkg failed"
    deb=$(ls "$cache"/linux-image-6.1.0-*-amd64_*.deb | sort -V | tail -1)
  fi
  local kdir
  kdir="$cache/$(basename "$deb" .deb)"
  if [ ! -d "$kdir/boot" ]; then
    rm -rf "$kdir.tmp" && mkdir -p "$kdir.tmp" && dpkg-deb -x "$deb" "$kdir.tmp" && mv "$kdir.tmp" "$kdir"
  fi
  vmlinuz=$(ls "$kdir"/boot/vmlinuz-*)
  mods=$(ls -d "$kdir"/lib/modules/*)
}

# Packs the directory ROOT into the gzipped cpio initramfs OUT.
pack_initramfs() {
  (cd "$1" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$2"
}

# Exits with the status the guest printed ("GUEST RESULT n") in the console log LOG. Without
# one, prints the last console lines (and the last lines of EXTRA_LOG, if given) and exits 1.
exit_with_guest_result() {
  local log=$1 extra=${2:-} status
  status=$(tr -d '\r' <"$log" | sed -n 's/^GUEST RESULT \([0-9]*\).*/\1/p' | tail -1)
  if [ -z "$status" ]; then
    echo "FAIL: the guest produced no result; last console lines:"
    tr -d '\r' <"$log" | tail -30
    if [ -n "$extra" ]; then echo "last lines of $extra:"; tail -5 "$extra" || true; fi
    exit 1
  fi
  exit "$status"
}
