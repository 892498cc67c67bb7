#!/bin/bash
# Installs what tests/mta/postfix.sh and tests/mta/exim.sh need, from Debian's
# packages. Idempotent and noninteractive; run as root (CI's .ci/run does):
#
#   bash tests/mta/install.sh
#
# - postfix (debconf "No configuration": the package installs no main.cf and
#   starts nothing; the Postfix test runs its own instance under a temp dir),
#   swaks (the SMTP client the tests speak with), sqlite3, python3.
# - Exim cannot be installed next to Postfix (both are the system MTA), so its
#   package is downloaded and unpacked (dpkg -x) into $PIPEDESK_MTA_DIR
#   (default /var/lib/pipedesk-mta/exim4); its shared libraries are installed
#   as ordinary packages, and the "Debian-exim" system user that the binary
#   looks up at start is created.
#
# Exit 0 when everything is there; non-zero (with a message) when a step failed.
# The test scripts themselves print "SKIP: ..." when something is missing.
set -eu

if [ "$(id -u)" != 0 ]; then
    echo "install.sh: must run as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
MTA_DIR=${PIPEDESK_MTA_DIR:-/var/lib/pipedesk-mta}
EXIM_ROOT=$MTA_DIR/exim4

apt_updated=
apt_update_once() {
    if [ -z "$apt_updated" ]; then
        apt-get update -qq >/dev/null || { echo "install.sh: apt-get update failed" >&2; return 1; }
        apt_updated=1
    fi
}

need=()
for pkg in postfix swaks sqlite3 python3 ca-certificates; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    apt_update_once
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    echo "postfix postfix/mailname string mta-test.localdomain" | debconf-set-selections
    apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${need[@]}" >/dev/null
fi

# Exim, unpacked. exim4-daemon-light holds /usr/sbin/exim4.
if [ ! -x "$EXIM_ROOT/usr/sbin/exim4" ]; then
    apt_update_once
    mkdir -p "$MTA_DIR/debs"
    # apt's download sandbox user must be able to write there
    getent passwd _apt >/dev/null && chown _apt "$MTA_DIR/debs"
    (cd "$MTA_DIR/debs" && rm -f exim4-daemon-light_*.deb && apt-get download -qq exim4-daemon-light >/dev/null)
    deb=$(ls "$MTA_DIR"/debs/exim4-daemon-light_*.deb | head -n1)
    rm -rf "$EXIM_ROOT.tmp"
    dpkg -x "$deb" "$EXIM_ROOT.tmp"
    rm -rf "$EXIM_ROOT"
    mv "$EXIM_ROOT.tmp" "$EXIM_ROOT"
fi
# The binary is setuid root in the package; keep it so (a non-root caller, the
# pipedesk user sending an autoreply through it, needs that to write the spool).
chown root:root "$EXIM_ROOT/usr/sbin/exim4"
chmod 4755 "$EXIM_ROOT/usr/sbin/exim4"

# Its libraries, as ordinary packages (they do not conflict with Postfix). A
# setuid binary ignores LD_LIBRARY_PATH, so they must be in the system paths.
libs=$(apt-cache depends exim4-daemon-light 2>/dev/null | awk '$1=="Depends:" && $2 ~ /^lib/ {print $2}' | sort -u)
missing=()
for l in $libs; do
    dpkg-query -W -f='${Status}' "$l" 2>/dev/null | grep -q 'install ok installed' || missing+=("$l")
done
if [ ${#missing[@]} -gt 0 ]; then
    apt_update_once
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's exim refuses to start (even -bV) without its compiled-in user.
if ! getent passwd Debian-exim >/dev/null; then
    getent group Debian-exim >/dev/null || groupadd --system Debian-exim
    useradd --system --gid Debian-exim --no-create-home --home-dir /var/spool/exim4 \
        --shell /usr/sbin/nologin Debian-exim
fi

# (-C /dev/null: there is no /etc/exim4/exim4.conf, and none is wanted)
"$EXIM_ROOT/usr/sbin/exim4" -C /dev/null -bV >/dev/null 2>&1 || {
    echo "install.sh: unpacked exim does not run:" >&2
    "$EXIM_ROOT/usr/sbin/exim4" -C /dev/null -bV 2>&1 | head -n5 >&2
    exit 1
}
echo "install.sh: postfix $(postconf -d -h mail_version 2>/dev/null), $("$EXIM_ROOT/usr/sbin/exim4" -C /dev/null -bV 2>/dev/null | grep -m1 '^Exim version'), swaks ready"
