# shellcheck shell=bash
# Booting a kiosk image the way a Pi boots it, in qemu-system-aarch64's virt machine,
# shared by scripts/boot-test, scripts/test-updates and scripts/test-screen: Debian's
# U-Boot for QEMU (u-boot-qemu) is the firmware, finds boot.scr on the image's boot
# partition and runs board/uboot/boot.cmd, which chooses a root slot, counts the attempt
# and starts that slot's kernel. The kiosk's cmdline.txt reaches the kernel as on the Pi:
# in the device tree's /chosen bootargs, which boot.cmd reads and appends the slot's root to.
# The host has no KVM for an aarch64 guest: QEMU emulates (TCG).
# Needs scripts/lib/image.sh sourced first (fail, mtools_target).

readonly QEMU_UBOOT=/usr/lib/u-boot/qemu_arm64/u-boot.bin

# qemu_machine_args DISK: the machine, firmware, disk, network and watchdog of a kiosk VM
# (an array in QEMU_MACHINE), without display or console options. acpi=off: with firmware
# loaded the virt machine would otherwise describe itself through ACPI and leave out the
# PL061 GPIO chip the kiosk's board uses (the device tree is what a Pi has too).
qemu_machine_args() {
    QEMU_MACHINE=(-M "virt,acpi=off" -cpu cortex-a72 -smp 2 -m 1536 -accel "tcg,thread=multi"
        -bios "$QEMU_UBOOT"
        -drive "file=$1,format=raw,if=none,id=disk,cache=writeback"
        -device "virtio-blk-device,drive=disk"
        -netdev "user,id=net" -device "virtio-net-pci,netdev=net,romfile="
        -device i6300esb)
}

# qemu_kiosk_dtb DISK DTB [QEMU ARGS...]: writes to DTB the device tree QEMU gives this
# machine (with the extra QEMU ARGS, e.g. a GPU), with /chosen bootargs set to the disk's
# cmdline.txt plus a serial console and boot messages for the log, as the Pi's firmware
# would hand it over.
qemu_kiosk_dtb() {
    local disk=$1 dtb=$2 cmdline
    shift 2
    qemu_machine_args "$disk"
    qemu-system-aarch64 "${QEMU_MACHINE[@]}" "$@" -display none -machine "dumpdtb=$dtb" >/dev/null 2>&1 \
        || fail "QEMU cannot dump the virt machine's device tree"
    cmdline=$(mtype -i "$(mtools_target "$disk")" ::cmdline.txt | tr -d '\r' | head -1)
    [ -n "$cmdline" ] || fail "$disk has no cmdline.txt on its boot partition"
    fdtput -t s "$dtb" /chosen bootargs "$cmdline console=ttyAMA0 loglevel=6 systemd.show_status=1"
}

# qemu_slot_booted CONSOLE_LOG: the slot U-Boot chose in the last boot in CONSOLE_LOG.
qemu_slot_booted() {
    sed -n 's/\r$//; s/^sportello-boot: slot \([AB]\) .*/\1/p' "$1" | tail -1
}
