# Sportello A/B boot (U-Boot script; `mkimage -T script` makes boot.scr of it).
#
# Two root slots, A (partition 2) and B (partition 3), each holding its own kernel and
# initramfs in /boot. Which one boots is decided here, with a real attempt counter, from
# three variables RAUC's `uboot` backend reads and writes with fw_setenv:
#   BOOT_ORDER   slots to try, first the preferred one ("A B" or "B A")
#   BOOT_A_LEFT  attempts left for slot A (RAUC sets 3 when it installs or marks good)
#   BOOT_B_LEFT  the same for slot B
# Each boot takes one attempt of the first slot in BOOT_ORDER that has one left and writes
# it back before loading a kernel, so a slot that hangs, panics or is reset by the
# watchdog before `rauc status mark-good` runs loses its attempts and the next slot in the
# order boots. When no slot has any left, both get 3 again (better to keep trying than to
# stay dark) and the board resets.
#
# The variables live in their own file, sportello-ab.env on the boot partition (U-Boot's
# "env export -c" format: CRC32 and text, 16 KiB, what fw_printenv reads with
# board/uboot/fw_env.config), not in U-Boot's own environment: the same file and logic on
# the Raspberry Pi (whose U-Boot keeps its own environment in uboot.env) and in QEMU's
# virt machine (which keeps it in flash Linux cannot reach). A missing or damaged file
# reads as "A B", 3, 3.
#
# Lines starting "sportello-boot:" on the console are what scripts/test-boot-logic reads.

setenv ab_file sportello-ab.env
setenv ab_size 0x4000
setenv ab_vars BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT
# The script itself runs from scriptaddr; the file is handled where the initramfs goes later.
setenv ab_addr ${ramdisk_addr_r}

setenv BOOT_ORDER "A B"
setenv BOOT_A_LEFT 3
setenv BOOT_B_LEFT 3
if fatload ${devtype} ${devnum}:1 ${ab_addr} ${ab_file}; then
    if env import -c ${ab_addr} ${ab_size} ${ab_vars}; then
        echo "sportello-boot: read ${ab_file}: order ${BOOT_ORDER}, A ${BOOT_A_LEFT}, B ${BOOT_B_LEFT}"
    else
        echo "sportello-boot: ${ab_file} is damaged: starting again from A B 3 3"
        setenv BOOT_ORDER "A B"
        setenv BOOT_A_LEFT 3
        setenv BOOT_B_LEFT 3
    fi
fi

setenv slot
for candidate in ${BOOT_ORDER}; do
    if test -z "${slot}"; then
        if test "${candidate}" = A && test ${BOOT_A_LEFT} -gt 0; then
            setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
            setenv slot A
            setenv slot_part 2
        fi
        if test "${candidate}" = B && test ${BOOT_B_LEFT} -gt 0; then
            setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
            setenv slot B
            setenv slot_part 3
        fi
    fi
done

if test -z "${slot}"; then
    echo "sportello-boot: no slot has attempts left: both get 3 again, resetting"
    setenv BOOT_A_LEFT 3
    setenv BOOT_B_LEFT 3
    env export -c -s ${ab_size} ${ab_addr} ${ab_vars}
    fatwrite ${devtype} ${devnum}:1 ${ab_addr} ${ab_file} ${ab_size}
    reset
fi

# The attempt is spent before the kernel is even read: a slot that never gets as far as
# marking itself good cannot boot for ever.
env export -c -s ${ab_size} ${ab_addr} ${ab_vars}
if fatwrite ${devtype} ${devnum}:1 ${ab_addr} ${ab_file} ${ab_size}; then
    echo "sportello-boot: slot ${slot} (attempts left: A ${BOOT_A_LEFT}, B ${BOOT_B_LEFT})"
else
    echo "sportello-boot: cannot write ${ab_file}: booting slot ${slot} without counting"
fi

# The slot's kernel, initramfs and (on the Pi) the firmware's device tree.
if load ${devtype} ${devnum}:${slot_part} ${kernel_addr_r} boot/vmlinuz; then
    if load ${devtype} ${devnum}:${slot_part} ${ramdisk_addr_r} boot/initrd.img; then
        setenv initrd_size ${filesize}
        if test -n "${fdt_addr}"; then setenv slot_fdt ${fdt_addr}; else setenv slot_fdt ${fdtcontroladdr}; fi
        # The firmware's command line (the Pi's cmdline.txt, which its firmware writes into
        # the device tree's /chosen): booti would replace it with ${bootargs}, so it is
        # read first and the slot's root appended (the last root= is the one Linux takes).
        if fdt addr ${slot_fdt} && fdt get value fw_bootargs /chosen bootargs; then
            setenv bootargs "${fw_bootargs}"
        fi
        # The slot's root by partition UUID (the MBR's disk id and the partition number),
        # which an update cannot change; by label where U-Boot cannot read the UUID.
        if part uuid ${devtype} ${devnum}:${slot_part} slot_uuid; then
            setenv slot_root "PARTUUID=${slot_uuid}"
        else
            setenv slot_root "LABEL=SPORTROOT_${slot}"
        fi
        setenv bootargs "${bootargs} root=${slot_root} rauc.slot=${slot}"
        booti ${kernel_addr_r} ${ramdisk_addr_r}:${initrd_size} ${slot_fdt}
    fi
fi
echo "sportello-boot: slot ${slot} did not boot: resetting"
reset
