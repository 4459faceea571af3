#!/usr/bin/env bash
# AVX-512 system test: boots Debian's kernel under Bochs (a software x86 emulator whose
# Skylake-X model executes AVX-512; QEMU's TCG does not) and runs a static test binary inside,
# where the zmm copy routine's faults are real SIGBUS/SIGSEGV delivered by a real kernel.
#
#   bochs_avx512.sh TEST_BINARY [NAME=VALUE...] [ARGS...]
#     the guest runs TEST_BINARY ARGS... in /tmp, with the NAME=VALUE pairs in its environment
#
# Prints the binary's output from the serial console and exits with its status. Exits 77
# (CTest: skipped) with "SKIP: reason" when Bochs or the kernel package cannot be had.
# Debian 12's Bochs 2.7, seen here: only cpu model corei7_skylake_x boots this kernel;
# CPUID.(0xD,1).EBX reports the standard, not the compacted, XSAVE size, so without
# clearcpuid=xsavec,xsaves Linux disables XSAVE ("XSAVE consistency problem") and AVX-512 raises
# SIGILL; the build has no 'nogui' display (the term display runs on a throwaway pty) and
# starts in its debugger (fed "c"). ACPI power-off ends Bochs with status 1, so the result is
# read from the console. The kernel takes about 2.5 minutes to boot at ~70 MIPS.
set -euo pipefail
[ $# -ge 1 ] && [ -x "$1" ] || { echo "usage: bochs_avx512.sh TEST_BINARY [NAME=VALUE...] [ARGS...]"; exit 2; }
test_bin=$1; shift
env_pairs=()
while (($#)) && [[ $1 == [A-Za-z_]*=* ]]; do env_pairs+=("$1"); shift; done
source "$(dirname "$0")/guest_lib.sh"

need=()
command -v bochs >/dev/null || need+=(bochs)
[ -e /usr/share/bochs/BIOS-bochs-latest ] || need+=(bochsbios)
[ -e /usr/share/bochs/VGABIOS-lgpl-latest ] || need+=(vgabios)
ls /usr/lib/*/bochs/plugins/libbx_term_gui.so* >/dev/null 2>&1 || need+=(bochs-term)
[ -e /usr/lib/ISOLINUX/isolinux.bin ] || need+=(isolinux)
[ -e /usr/lib/syslinux/modules/bios/ldlinux.c32 ] || need+=(syslinux-common)
command -v genisoimage >/dev/null || need+=(genisoimage)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v script >/dev/null || need+=(bsdutils)
command -v file >/dev/null || need+=(file)
install_packages "${need[@]}"
command -v bochs >/dev/null || skip "bochs not available"
fetch_debian_kernel

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{bin,dev,proc,tmp} "$work/iso/isolinux"
cp /bin/busybox "$root/bin/busybox"
cp "$test_bin" "$root/test"
command_line=$(printf ' %q' "${env_pairs[@]}" /test "$@")
cat >"$root/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo "GUEST KERNEL \$(uname -r); \$(grep -o 'avx512[a-z]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"
cd /tmp
env$command_line
echo "GUEST RESULT \$?"
sleep 2  # the serial port drains before power-off (without it the last lines were lost)
poweroff -f
INIT
chmod +x "$root/init"
pack_initramfs "$root" "$work/iso/initrd.gz"
cp "$vmlinuz" "$work/iso/vmlinuz"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$work/iso/isolinux/"
cat >"$work/iso/isolinux/isolinux.cfg" <<CFG
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  APPEND initrd=/initrd.gz console=ttyS0,115200 quiet nokaslr panic=-1 clearcpuid=xsavec,xsaves
CFG
genisoimage -quiet -o "$work/boot.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
  -no-emul-boot -boot-load-size 4 -boot-info-table -R -J "$work/iso"
cat >"$work/bochsrc" <<RC
megs: 1024
cpu: model=corei7_skylake_x, count=1, ips=200000000
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=$work/boot.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$work/serial.log
display_library: term
log: $work/bochs.log
clock: sync=none, time0=local
mouse: enabled=0
RC
printf 'c\nquit\n' >"$work/dbg.rc"
# The term display writes the screen to a pty of its own (Bochs prints 'Bochs connected to
# screen "/dev/pts/N"'), which nothing else reads: once its buffer is full, every screen update
# blocks Bochs until its next timer signal (seen: a 4-minute run took over 30). This reads it
# away, in raw mode without echo, until Bochs ends.
drain_screen() {
  local screen="" i
  for ((i = 0; i < 600 && ${#screen} == 0; i++)); do
    screen=$(sed -n 's/.*connected to screen "\(\/dev\/pts\/[0-9]*\)".*/\1/p' "$1" 2>/dev/null | head -1) || true
    [ -n "$screen" ] || sleep 0.1
  done
  [ -n "$screen" ] || return 0
  stty -F "$screen" raw -echo 2>/dev/null || true
  exec cat "$screen" >/dev/null 2>&1
}
start=$(date +%s)
(cd "$work" && TERM=xterm timeout "${MCSAFE_BOCHS_TIMEOUT:-1800}" \
   script -qfec "bochs -q -f $work/bochsrc -rc $work/dbg.rc" /dev/null >"$work/bochs.out" 2>&1 </dev/null) &
runner=$!
drain_screen "$work/bochs.out" &
drainer=$!
wait "$runner" || true
kill "$drainer" 2>/dev/null || true
wait "$drainer" 2>/dev/null || true
echo "boot-test-poweroff under Bochs took $(( $(date +%s) - start )) s"
touch "$work/serial.log"
tr -d '\r' <"$work/serial.log" | sed -n '/^GUEST KERNEL/,/^GUEST RESULT/p'
exit_with_guest_result "$work/serial.log" "$work/bochs.log"
