#!/bin/sh
# Makes a busybox base-image rootfs tarball from Debian's busybox-static package:
# /bin/busybox plus a symlink for each applet, and the minimal /etc a base image has.
#
#   testdata/make-busybox-rootfs.sh OUT.tar
#
# Needs busybox-static installed (`apt-get install busybox-static`).
set -eu
out=${1:?usage: $0 OUT.tar}
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "error: $busybox not found: apt-get install busybox-static" >&2; exit 1; }
"$busybox" --list >/dev/null 2>&1 || { echo "error: $busybox is not busybox" >&2; exit 1; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bin" "$dir/etc" "$dir/root" "$dir/tmp" "$dir/var" "$dir/home" "$dir/usr/bin" "$dir/usr/sbin" "$dir/sbin"
chmod 1777 "$dir/tmp"
chmod 700 "$dir/root"
cp "$busybox" "$dir/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
done
cat > "$dir/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
PASSWD
cat > "$dir/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
nogroup:x:65534:
GROUP
# Fixed times and owners: the same package gives the same tarball.
find "$dir" -exec touch -h -d @0 {} +
tar --numeric-owner --owner=0 --group=0 --sort=name -C "$dir" -cf "$out" .
