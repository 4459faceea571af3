#!/usr/bin/env bash
# System test: boots Debian's own kernel under QEMU (software emulation) with a small
# initramfs and runs the static guest test inside it, where hardware poison (MADV_HWPOISON,
# hwpoison_inject) and DAX bad blocks on an emulated pmem device are real.
#
#   run.sh GUEST_TEST [--kernel 6.1|6.12] [--cxl] [--break] [--scan MCSAFE_SCAN]
#
# --kernel picks Debian's kernel: 6.1 (the release's own, the default) or 6.12 (its backports).
# --cxl runs only the guest's CXL cases, on 6.12 under the backports' QEMU (10.x), whose q35
# machine gets one emulated CXL type-3 memory device (256 MiB, volatile) behind a pxb-cxl host
# bridge and a root port, and a CXL fixed memory window.
# Prints the guest's kernel version and one PASS/FAIL/SKIP line per case, each prefixed with the
# kernel's release in brackets; exits with the guest test's status. Exits 77 (CTest: skipped)
# with "SKIP: reason" when QEMU or the kernel package cannot be had. --break makes one guest
# case expect a wrong address: the run must then fail.
set -euo pipefail

guest=""; cmdline_extra=""; scan=""; series=6.1; cxl=""
while (($#)); do
  case "$1" in
    --break) cmdline_extra="mcsafe.break=1" ;;
    --scan) scan="$2"; shift ;;
    --kernel) series="$2"; shift ;;
    --cxl) cxl=1 ;;
    *) guest="$1" ;;
  esac
  shift
done
[ -x "$guest" ] || { echo "usage: run.sh GUEST_TEST [--kernel 6.1|6.12] [--cxl] [--break] [--scan MCSAFE_SCAN]"; exit 2; }
[ -z "$cxl" ] || series=6.12  # the CXL paths the cases use need 6.4 or later

source "$(dirname "$0")/guest_lib.sh"

# Tools from Debian, installed when missing.
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static || need+=(busybox-static)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v cpio >/dev/null || need+=(cpio)
command -v python3 >/dev/null || need+=(python3)
command -v file >/dev/null || need+=(file)
command -v xz >/dev/null || need+=(xz-utils)
install_packages "${need[@]}"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not available"
fetch_debian_kernel "$series"
qemu=(qemu-system-x86_64)
cpu=max
machine=()
if [ -n "$cxl" ]; then
  fetch_backports_qemu
  qemu=("${qemu_bp[@]}")
  # -nodefaults: q35's default devices cost about 30 s of firmware time under TCG.
  # hypervisor=off: the kernel commits a CXL region only where it can flush CPU caches for it,
  # which it does not trust under a hypervisor ("Failed to synchronize CPU cache state").
  cpu=max,hypervisor=off
  machine=(-M q35,cxl=on -nodefaults -serial stdio -m 1G,maxmem=4G,slots=4
           -object memory-backend-ram,id=cxl-vmem0,size=256M
           -device pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1
           -device cxl-rp,port=0,bus=cxl.1,id=cxl_rp0,chassis=0,slot=2
           -device cxl-type3,bus=cxl_rp0,volatile-memdev=cxl-vmem0,id=cxl-vmem0,sn=0x1
           -M cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G)
  cmdline_extra="$cmdline_extra mcsafe.only=cxl"
fi
guest_label=$(basename "$mods")  # the kernel release, on every line printed

# The initramfs: busybox, the modules in load order, an ext4 image, the test binaries.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,mnt,tmp,lib/modules}
cp /bin/busybox "$root/bin/busybox"
order="crypto/crc32c_generic drivers/nvdimm/libnvdimm drivers/nvdimm/nd_btt drivers/nvdimm/nd_pmem
       drivers/nvdimm/nd_e820 lib/crc16 fs/mbcache fs/jbd2/jbd2 fs/ext4/ext4 mm/hwpoison-inject
       drivers/dax/device_dax drivers/dax/dax_pmem
       drivers/block/loop drivers/md/dm-mod"
[ -n "$cxl" ] && order="$order drivers/cxl/cxl_acpi drivers/cxl/cxl_pci drivers/cxl/cxl_mem drivers/dax/dax_cxl"
for m in $order; do
  copy_module "$m" "$root/lib/modules" || skip "kernel module $m missing from $(basename "$deb")"
  echo "$(basename "$m").ko" >>"$root/lib/modules/order"
done
# 4 KiB blocks (DAX needs block size == page size), no journal (as seen to mount with -o dax).
mkfs.ext4 -q -F -O ^has_journal -b 4096 "$root/fs.img" 32M >/dev/null 2>&1
# mapped_file's cases: a small page-cache ext4 to fill (no reserved blocks), and one the guest
# puts under a device-mapper table with an error target (both attached to loop devices there).
mkfs.ext4 -q -F -O ^has_journal -m 0 -b 4096 "$root/full.img" 4M >/dev/null 2>&1
mkfs.ext4 -q -F -O ^has_journal -b 4096 "$root/eio.img" 8M >/dev/null 2>&1
# The second pmem device gets an MBR with one Linux partition at sector 2048 (1 MiB: DAX on a
# partition needs a page-aligned start) holding the same kind of file system, so the guest can
# check badblocks on a partition (the kernel keeps the list for the whole disk).
python3 - "$root/part.img" "$root/fs.img" <<'PY'
import struct, sys
start, sectors = 2048, 32 << 11  # 32 MiB
entry = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x83, b"\0\0\0", start, sectors)
with open(sys.argv[1], "wb") as f, open(sys.argv[2], "rb") as fs:
    f.write(b"\0" * 446 + entry + b"\0" * 48 + b"\x55\xaa")
    f.seek(start * 512)
    f.write(fs.read())
PY
cp "$guest" "$root/guest_test"
[ -n "$scan" ] && cp "$scan" "$root/mcsafe-scan"
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m 2>/dev/null || echo "insmod $m failed"; done
echo "GUEST KERNEL $(uname -r)"
i=0; while [ ! -b /dev/pmem0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
if [ -b /dev/pmem0 ]; then
  dd if=/fs.img of=/dev/pmem0 bs=1M 2>/dev/null && mount -t ext4 -o dax /dev/pmem0 /mnt || echo "dax mount failed"
fi
if [ -b /dev/pmem1 ]; then
  mkdir -p /mnt2
  dd if=/part.img of=/dev/pmem1 bs=1M 2>/dev/null && blockdev --rereadpt /dev/pmem1
  i=0; while [ ! -b /dev/pmem1p1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  mount -t ext4 -o dax /dev/pmem1p1 /mnt2 || echo "dax mount failed: /dev/pmem1p1"
fi
cd /tmp
/guest_test
echo "GUEST RESULT $?"
poweroff -f
INIT
chmod +x "$root/init"
pack_initramfs "$root" "$work/initrd.gz"

# Three pmem devices: pmem0 (fsdax ext4), pmem1 (partitioned, fsdax ext4), pmem2 left raw for
# mcsafe-scan's block-device case, then reconfigured as device DAX by the guest test.
log="$work/console.log"
start=$(date +%s)
[ ${#machine[@]} -eq 0 ] && machine=(-m 1G)
timeout "${MCSAFE_SYSTEM_TIMEOUT:-600}" "${qemu[@]}" -accel tcg -cpu "$cpu" "${machine[@]}" -smp 1 -nographic -no-reboot \
  -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
  -append "console=ttyS0 quiet panic=-1 memmap=64M!512M memmap=64M!640M memmap=64M!768M $cmdline_extra" </dev/null >"$log" 2>&1 || true
tr -d '\r' <"$log" | grep -E '^(GUEST |PASS |FAIL |SKIP |INFO |insmod |dax mount)' | sed "s/^/[$guest_label] /" || true
echo "[$guest_label] boot-test-poweroff took $(( $(date +%s) - start )) s"
# Every JSON report mcsafe-scan printed in the guest (a "SCANJSON" line each) must parse and
# follow the schema (docs/mcsafe-scan.md).
if [ -n "$scan" ]; then
  reports=$(tr -d '\r' <"$log" | sed -n 's/^SCANJSON //p')
  if checked=$(printf '%s\n' "$reports" | python3 "$(dirname "$0")/../../tools/check_scan_report.py" 2>&1); then
    echo "[$guest_label] PASS scan_tool.json_reports ($(grep -c ^PASS <<<"$checked") checked against the schema)"
  else
    echo "[$guest_label] FAIL scan_tool.json_reports: $(grep -v ^PASS <<<"$checked")"
    exit 1
  fi
fi
exit_with_guest_result "$log"
