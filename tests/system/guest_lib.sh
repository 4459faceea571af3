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

# The URI of the machine's own Debian mirror for this release (the apt source whose suites
# include its codename), and the keyring it is signed with, from /etc/apt's sources (deb822
# *.sources or one-line *.list). Prints "URI KEYRING" (KEYRING may be empty).
debian_mirror() {
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || return 1
  cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v c="$codename" '
    /^[ \t]*$/ { if (hit && uri != "") { print uri, key; exit } uri = key = ""; hit = 0; next }
    $1 == "URIs:" { uri = $2 } $1 == "Signed-By:" { key = $2 }
    $1 == "Suites:" { for (i = 2; i <= NF; i++) if ($i == c) hit = 1 }
    END { if (hit && uri != "") print uri, key }' | head -1 | grep . && return 0
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk -v c="$codename" '
    $1 == "deb" { key = ""; i = 2
      if ($2 ~ /^\[/) { for (; i <= NF; i++) { if ($i ~ /signed-by=/) { key = $i; sub(/.*signed-by=/, "", key); sub(/\]$/, "", key) }
                                              if ($i ~ /\]$/) break }
                        i++ }
      if ($(i + 1) == c) { print $i, key; exit } }' | grep .
}

# A private apt configuration (its own sources list, lists and cache under the cache directory;
# the machine's apt is left as it is) for the backports suite of the machine's own mirror.
# Sets backports_apt (the options to pass to apt-get and apt-cache); returns 1 when it cannot.
setup_backports_apt() {
  local dir="$cache/apt-backports" mirror uri key codename
  mirror=$(debian_mirror) || return 1
  read -r uri key <<<"$mirror"
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  echo "deb ${key:+[signed-by=$key] }$uri $codename-backports main" >"$dir/sources.list"
  backports_apt=(-o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
                 -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache")
  apt-get -qq "${backports_apt[@]}" update >"$cache/apt-backports.log" 2>&1
}

# Debian's kernel package of SERIES (6.1: the release's own, from the machine's apt sources;
# 6.12: from the backports suite of the same mirror), newest build of the amd64 flavour,
# downloaded once into the cache. Sets deb, vmlinuz and mods (the module tree).
fetch_debian_kernel() {
  local series=${1:-6.1} regex apt_opts=()
  case "$series" in
    6.1) regex='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
    6.12) regex='^linux-image-6\.12\.[0-9]+\+deb[0-9]+-amd64$' ;;
    *) echo "fetch_debian_kernel: unknown kernel series $series"; exit 2 ;;
  esac
  deb=$(ls "$cache"/linux-image-"$series"[.-]*-amd64_*.deb 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$deb" ]; then
    if [ "$series" != 6.1 ]; then
      setup_backports_apt || skip "no backports suite for the machine's Debian mirror (see $cache/apt-backports.log)"
      apt_opts=("${backports_apt[@]}")
    fi
    local pkg
    pkg=$(apt-cache "${apt_opts[@]}" search --names-only "$regex" 2>/dev/null | awk '{print $1}' | sort -V | tail -1)
    [ -n "$pkg" ] || skip "no package matching $regex in the apt sources"
    (cd "$cache" && apt-get "${apt_opts[@]}" download -q "$pkg" >/dev/null 2>&1) || skip "apt-get download $pkg failed"
    deb=$(ls "$cache"/linux-image-"$series"[.-]*-amd64_*.deb | sort -V | tail -1)
  fi
  local kdir
  kdir="$cache/$(basename "$deb" .deb)"
  if [ ! -d "$kdir/boot" ]; then
    rm -rf "$kdir.tmp" && mkdir -p "$kdir.tmp" && dpkg-deb -x "$deb" "$kdir.tmp" && mv "$kdir.tmp" "$kdir"
  fi
  vmlinuz=$(ls "$kdir"/boot/vmlinuz-*)
  mods=$(ls -d "$kdir"/lib/modules/*)
}

# QEMU from the backports suite (10.x: it emulates a CXL type-3 device with a poison list; the
# release's own 7.2 does not), unpacked under the cache once, not installed: the machine's QEMU
# stays as it is. Its libraries are the release's. Sets qemu_bp (the binary and its firmware
# path, as words to put before QEMU's options).
fetch_backports_qemu() {
  local dir="$cache/qemu-backports" pkgs=(qemu-system-x86 qemu-system-common qemu-system-data)
  if [ ! -x "$dir/usr/bin/qemu-system-x86_64" ]; then
    setup_backports_apt || skip "no backports suite for the machine's Debian mirror (see $cache/apt-backports.log)"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/debs"
    (cd "$dir.tmp/debs" && apt-get "${backports_apt[@]}" download -q -t "$(. /etc/os-release && echo "$VERSION_CODENAME")-backports" \
       "${pkgs[@]}" >"$cache/apt-backports.log" 2>&1) || skip "apt-get download ${pkgs[*]} from backports failed (see $cache/apt-backports.log)"
    for f in "$dir.tmp"/debs/*.deb; do dpkg-deb -x "$f" "$dir.tmp"; done
    rm -rf "$dir.tmp/debs" "$dir" && mv "$dir.tmp" "$dir"
  fi
  "$dir/usr/bin/qemu-system-x86_64" --version >/dev/null 2>&1 || skip "backports QEMU does not run here (missing libraries?)"
  qemu_bp=("$dir/usr/bin/qemu-system-x86_64" -L "$dir/usr/share/qemu")
}

# Copies kernel module M (a path under the module tree, no suffix) into DIR as M's base name
# with .ko, decompressed when the kernel ships it xz-compressed (6.12), so busybox's insmod
# loads it. Returns 1 when the tree has no such module.
copy_module() {
  local m=$1 dir=$2 base
  base=$(basename "$m")
  if [ -f "$mods/kernel/$m.ko" ]; then cp "$mods/kernel/$m.ko" "$dir/$base.ko"
  elif [ -f "$mods/kernel/$m.ko.xz" ]; then xz -dc "$mods/kernel/$m.ko.xz" >"$dir/$base.ko"
  else return 1
  fi
}

# Packs the directory ROOT into the gzipped cpio initramfs OUT.
pack_initramfs() {
  (cd "$1" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$2"
}

# Exits with the status the guest printed ("GUEST RESULT n") in the console log LOG. Without
# one, prints the last console lines (and the last lines of EXTRA_LOG, if given) and exits 1;
# that FAIL line starts with "[$guest_label] " when the caller set guest_label.
exit_with_guest_result() {
  local log=$1 extra=${2:-} status
  status=$(tr -d '\r' <"$log" | sed -n 's/^GUEST RESULT \([0-9]*\).*/\1/p' | tail -1)
  if [ -z "$status" ]; then
    echo "${guest_label:+[$guest_label] }FAIL: the guest produced no result; last console lines:"
    tr -d '\r' <"$log" | tail -30
    if [ -n "$extra" ]; then echo "last lines of $extra:"; tail -5 "$extra" || true; fi
    exit 1
  fi
  exit "$status"
}
