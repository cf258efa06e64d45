# shellcheck shell=bash
# The constants are used by the scripts that source this file.
# shellcheck disable=SC2034
# The kiosk image's layout, shared by scripts/build-image, provision, flash and boot-test.
#
# One MBR disk (the Pi 4's boot ROM reads MBR) with three partitions:
#   1  vfat  SPORTBOOT  /boot/firmware       Pi firmware, kernel, initrd, config.txt,
#                                            cmdline.txt, sportello/kiosk.toml (read-only)
#   2  ext4  SPORTROOT  /                    Debian + the sportello package, never written
#                                            (read-only under a RAM overlay)
#   3  ext4  SPORTDATA  /var/lib/sportello   the kiosk's store and token, the journal

readonly BOOT_LABEL=SPORTBOOT
readonly ROOT_LABEL=SPORTROOT
readonly DATA_LABEL=SPORTDATA
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

# check_layout IMAGE: fails unless IMAGE has the kiosk layout (3 partitions, FAT boot
# partition labelled SPORTBOOT, ext4 SPORTROOT and SPORTDATA).
check_layout() {
    local image=$1 count offset label type n
    [ -f "$image" ] || [ -b "$image" ] || fail "$image: no such image file or block device"
    count=$(partx -g -o NR "$image" 2>/dev/null | wc -l)
    [ "$count" -eq 3 ] || fail "$image has $count partitions, a kiosk image has 3 (boot, root, data)"
    for n in 1 2 3; do
        offset=$(partition_offset "$image" "$n")
        label=$(blkid -p -O "$offset" -s LABEL -o value "$image" 2>/dev/null || true)
        type=$(blkid -p -O "$offset" -s TYPE -o value "$image" 2>/dev/null || true)
        case "$n:$type:$label" in
            "1:vfat:$BOOT_LABEL" | "2:ext4:$ROOT_LABEL" | "3:ext4:$DATA_LABEL") ;;
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
