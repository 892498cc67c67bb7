#!/bin/bash
# Run by units.sh as root inside a mount namespace of its own (unshare
# --mount --propagation private): sets up a systemd unit's file-system
# restrictions, then runs "$@" as the unit's user. The unit's settings come
# in SB_* variables (see in_unit in units.sh); nothing here is a default.
set -eu

# ProtectSystem=strict: every mount read-only but the API file systems.
if [ "$SB_SYSTEM" = strict ]; then
    # mountinfo's 5th field is the mount point, with \040 for a space.
    while read -r mp; do
        mp=$(printf '%b' "$mp")
        case $mp in /dev | /dev/* | /proc | /proc/* | /sys | /sys/*) continue ;; esac
        mount -o remount,bind,ro "$mp" 2>/dev/null \
            || echo "unit-sandbox: warning: could not make $mp read-only" >&2
    done < <(awk '{ print $5 }' /proc/self/mountinfo)
fi
if [ "$SB_CGROUP" = true ] && mountpoint -q /sys/fs/cgroup; then
    mount -o remount,bind,ro /sys/fs/cgroup
fi
# ProtectHome=true: the homes inaccessible.
if [ "$SB_HOME" = true ]; then
    for d in /home /root /run/user; do
        [ -d "$d" ] && mount -t tmpfs -o ro,mode=000 tmpfs "$d"
    done
fi
# PrivateTmp=true: a /tmp and /var/tmp of its own.
if [ "$SB_TMP" = true ]; then
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
fi
# ReadWritePaths=: each writable again ("-": skipped when it is absent).
while read -r p; do
    [ -n "$p" ] || continue
    optional=
    case $p in -*) optional=1; p=${p#-} ;; esac
    if [ ! -e "$p" ]; then
        [ -n "$optional" ] && continue
        echo "unit-sandbox: ReadWritePaths=$p does not exist" >&2
        exit 1
    fi
    mount --bind "$p" "$p"
    mount -o remount,bind,rw "$p"
done <<< "$SB_RW"

cd /
umask "$SB_UMASK"
nnp=()
[ "$SB_NNP" = nnp ] && nnp=(--no-new-privs)
# systemd's User= with no capabilities asked for: none in any set, the
# user's own groups (initgroups), a clean environment.
# shellcheck disable=SC2086 # SB_ENV is NAME=value words
exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/nonexistent USER="$SB_USER" LOGNAME="$SB_USER" SHELL=/usr/sbin/nologin $SB_ENV \
    setpriv --reuid="$SB_USER" --regid="$SB_USER" --init-groups \
    --inh-caps=-all --ambient-caps=-all "${nnp[@]}" -- "$@"
