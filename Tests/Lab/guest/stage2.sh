#!/bin/bash
# Stage 2 of the lab guest, PID 1 in the host's root (read-only, with a tmpfs overlay): set up a minimal system,
# run the scenario with its output on the two virtio-serial ports, report its status, power off.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
# devtmpfs has no /dev/fd: bash's process substitution <(...) needs it.
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
set -a; source /run/lab/env; set +a
# A fresh /tmp and /var/tmp, but a repository checked out below them (CI's clone may be) stays visible.
case "$LAB_REPO" in
    /tmp/* | /var/tmp/*) mkdir -p /run/lab-repo && mount --bind "$LAB_REPO" /run/lab-repo ;;
esac
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /var/tmp
if mountpoint -q /run/lab-repo 2>/dev/null; then
    mkdir -p "$LAB_REPO" && mount --bind /run/lab-repo "$LAB_REPO"
fi
mkdir -p /run/lock /run/netns
# /run is a fresh tmpfs (stage 1); /run/lab in it is the writable host share.
export LAB_OUT=/run/lab
hostname lab
ip link set lo up

port() {
    local p
    for p in /sys/class/virtio-ports/*; do
        [ "$(cat "$p/name" 2>/dev/null)" = "$1" ] && { echo "/dev/$(basename "$p")"; return 0; }
    done
    echo /dev/console
}
touch /run/lab/booted
(
    cd "$LAB_REPO" || exit 1
    exec /bin/bash /run/lab/scenario.sh
) >"$(port lab.stdout)" 2>"$(port lab.stderr)"
echo "$?" >/run/lab/rc.tmp && mv /run/lab/rc.tmp /run/lab/rc
sync
echo o >/proc/sysrq-trigger
sleep 30
