# shellcheck shell=bash
# The constants are used by the scripts that source this file.
# shellcheck disable=SC2034
# The kiosk image's layout, shared by scripts/build-image, provision, flash and boot-test.
#
# One MBR disk (the Pi 4's boot ROM reads MBR) with four partitions, two root slots for
# A/B updates (issue 18; board/uboot/boot.cmd chooses one, RAUC writes the other):
#   1  vfat  SPORTBOOT    /boot/firmware      Pi firmware, config.txt, cmdline.txt, U-Boot
#                                             (u-boot.bin, boot.scr), sportello-ab.env,
#                                             sportello/kiosk.toml
#   2  ext4  SPORTROOT_A  /                   slot A: Debian + the sportello package, its
#                                             kernel and initramfs in /boot; never written
#                                             while it runs (read-only under a RAM overlay)
#   3  ext4  SPORTROOT_B  /                   slot B: the same, for the next update
#   4  ext4  SPORTDATA    /var/lib/sportello  the kiosk's store and token, the journal,
#                                             a downloaded update

readonly BOOT_LABEL=SPORTBOOT
# A slot's label is ${ROOT_LABEL}_A or _B.
readonly ROOT_LABEL=SPORTROOT
readonly DATA_LABEL=SPORTDATA
readonly BOOT_PART=1
readonly ROOT_A_PART=2
readonly ROOT_B_PART=3
readonly DATA_PART=4
# The MBR's disk id, the same for every release: a root slot is found by its partition
# UUID (PARTUUID=5a7e1100-02 and -03), which neither a label written by an update nor the
# kernel's name for the card (mmcblk0 on a Pi, vda in QEMU) can change. boot.cmd gives the
# kernel root=PARTUUID=...; RAUC's system.conf names the slots by-partuuid.
readonly DISK_ID=0x5a7e1100
# Each root slot's size: fixed, so every later release's root fits a card flashed today.
readonly ROOT_SLOT_MIB=1536
# Where provisioning puts a kiosk's configuration on the boot partition.
readonly KIOSK_CONFIG_DIR=sportello
readonly KIOSK_CONFIG_NAME=kiosk.toml
# mtools refuses FAT geometries it finds unusual (images, SD cards); they are fine.
export MTOOLS_SKIP_CHECK=1

# caller_path PATH: PATH as given on the command line, made absolute against the
# directory the script was started from ($invoked_from, set before it changes directory).
caller_path() {
    case "$1" in
        /*) echo "$1" ;;
        *) echo "${invoked_from:?}/$1" ;;
    esac
}

# fail MESSAGE...: prints "<script>: MESSAGE" on stderr and exits 1.
fail() {
    echo "$(basename "$0"): $*" >&2
    exit 1
}

# partition_sectors IMAGE N: prints "START SECTORS" (512-byte sectors) of partition N.
partition_sectors() {
    local image=$1 number=$2 line
    line=$(partx -g -o NR,START,SECTORS "$image" 2>/dev/null | awk -v n="$number" '$1 == n { print $2, $3 }')
    [ -n "$line" ] || fail "$image has no partition $number (is it a Sportello kiosk image?)"
    echo "$line"
}

# partition_offset IMAGE N: prints the byte offset of partition N.
partition_offset() {
    local start _size
    read -r start _size <<<"$(partition_sectors "$1" "$2")"
    echo $((start * 512))
}

# check_layout IMAGE: fails unless IMAGE has the kiosk layout (4 partitions: FAT boot
# partition labelled SPORTBOOT, ext4 SPORTROOT_A, SPORTROOT_B and SPORTDATA).
check_layout() {
    local image=$1 count offset label type n
    [ -f "$image" ] || [ -b "$image" ] || fail "$image: no such image file or block device"
    count=$(partx -g -o NR "$image" 2>/dev/null | wc -l)
    [ "$count" -eq 4 ] || fail "$image has $count partitions, a kiosk image has 4 (boot, root A, root B, data)"
    for n in 1 2 3 4; do
        offset=$(partition_offset "$image" "$n")
        label=$(blkid -p -O "$offset" -s LABEL -o value "$image" 2>/dev/null || true)
        type=$(blkid -p -O "$offset" -s TYPE -o value "$image" 2>/dev/null || true)
        case "$n:$type:$label" in
            "1:vfat:$BOOT_LABEL" | "2:ext4:${ROOT_LABEL}_A" | "3:ext4:${ROOT_LABEL}_B" | "4:ext4:$DATA_LABEL") ;;
            *) fail "$image partition $n is '$type' labelled '$label', not the kiosk layout" ;;
        esac
    done
}

# mtools_target IMAGE: the mtools drive spec of IMAGE's boot partition (image@@offset).
mtools_target() {
    echo "$1@@$(partition_offset "$1" 1)"
}

# sha256_of FILE: prints the SHA-256 of FILE.
sha256_of() {
    sha256sum "$1" | cut -d' ' -f1
}
