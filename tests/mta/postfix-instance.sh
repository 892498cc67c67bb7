# shellcheck shell=bash
# A throwaway Postfix instance for the tests of tests/mta/ (sourced by
# postfix.sh and units.sh; see postfix.sh's opening comment for what it
# changes outside its temp dir). Expects MTA, HERE, REPO, lib.sh and the
# pipedesk binary as $1; a caller may set T_BASE (where the temp dir goes;
# /tmp by default), PDUSER/PDGROUP (the delivery user; nobody by default)
# and define on_cleanup (run first at exit). Sets T, ETC, CFG, PDBIN,
# MAILDIR, PORT and RUN, and defines pq_json and queue_empty.
skip() { echo "SKIP: $MTA: $*"; exit 0; }

PDSRC=${1:-}
if [ -z "$PDSRC" ] || [ ! -x "$PDSRC" ]; then
    echo "usage: $0 /path/to/pipedesk   (not an executable: '${PDSRC}')" >&2
    exit 2
fi
[ "$(id -u)" = 0 ] || skip "must run as root (starts a Postfix instance)"

if ! command -v postfix >/dev/null || ! command -v swaks >/dev/null; then
    say "postfix or swaks missing; running tests/mta/install.sh"
    bash "$HERE/install.sh" || true
fi
command -v postfix >/dev/null || skip "postfix is not installed and could not be (apt-get install postfix)"
command -v swaks >/dev/null || skip "swaks is not installed and could not be (apt-get install swaks)"
command -v python3 >/dev/null || skip "python3 is missing"
MASTER_DIST=/usr/share/postfix/master.cf.dist
[ -f "$MASTER_DIST" ] || MASTER_DIST=/etc/postfix/master.cf.proto
[ -f "$MASTER_DIST" ] || skip "no default master.cf (master.cf.dist) found"

# ---------------------------------------------------------------- setup
T=$(mktemp -d "${T_BASE:-/tmp}/pipedesk-postfix.XXXXXX")
chmod 755 "$T"
ETC=$T/etc
PDUSER=${PDUSER:-nobody}
PDGROUP=${PDGROUP:-$(id -gn "$PDUSER")}
CFG=$T/pipedesk/pipedesk.toml
PDBIN=$T/bin/pipedesk
MAILDIR=$T/mail
SYS_MAINCF=/etc/postfix/main.cf
STARTED=
LOCKER_PID=

cleanup() {
    if declare -F on_cleanup >/dev/null; then on_cleanup; fi
    stop_locker
    if [ -n "$STARTED" ]; then
        postfix -c "$ETC" stop >/dev/null 2>&1
        # master exits within a second or two; do not leave it behind
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            [ -e "$T/spool/pid/master.pid" ] && kill -0 "$(tr -dc 0-9 < "$T/spool/pid/master.pid")" 2>/dev/null || break
            sleep 0.5
        done
        postfix -c "$ETC" status >/dev/null 2>&1 && postfix -c "$ETC" abort >/dev/null 2>&1
    fi
    if [ -e "$T/system-main.cf.orig" ]; then
        cp -p "$T/system-main.cf.orig" "$SYS_MAINCF"
    elif [ -e "$T/system-main.cf.absent" ]; then
        rm -f "$SYS_MAINCF"
    fi
    if [ "$FAIL" -gt 0 ] || [ -n "${SETUP_FAILED:-}" ]; then
        echo "--- last lines of the Postfix log ($T/maillog):"
        tail -n 40 "$T/maillog" 2>/dev/null
        echo "--- stub/pipedesk deliveries in the log:"
        grep -E 'pipedesk|status=' "$T/maillog" 2>/dev/null | tail -n 20
    fi
    if [ -n "${PIPEDESK_MTA_KEEP:-}" ]; then
        echo "kept $T"
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$ETC" "$T/spool" "$T/data" "$MAILDIR" "$T/pipedesk" "$T/bin"
install -m 755 "$PDSRC" "$PDBIN"
chown postfix "$T/data"
chmod 700 "$T/data"
chown "$PDUSER:$PDGROUP" "$MAILDIR" "$T/pipedesk"

# The shipped files, with their paths pointed into $T. Nothing else changes:
# the domain help.example.org stays (no DNS is needed: the transport table
# sends it to the pipe), and so do flags=, argv= and the regexps.
shipped() {
    sed -e "s|/usr/local/bin/pipedesk|$PDBIN|g" \
        -e "s|/etc/postfix/|$ETC/|g" \
        -e "s|/etc/pipedesk/|$T/pipedesk/|g" \
        -e "s|user=pipedesk|user=$PDUSER|g" \
        "$REPO/postfix/$1"
}

# main.cf: test settings, then the shipped lines, with the optional
# PIPEDESK_CONFIG lines switched on (the config lives in $T, not /etc/pipedesk).
sed -e "s|@T@|$T|g" -e "s|@UID@|$(id -u "$PDUSER")|g" -e "s|@GID@|$(getent group "$PDGROUP" | cut -d: -f3)|g" \
    "$HERE/postfix-main.cf.in" > "$ETC/main.cf"
shipped main.cf | sed -e 's/^#\(import_environment\|export_environment\) = /\1 = /' >> "$ETC/main.cf"
grep -q "^import_environment = .*PIPEDESK_CONFIG=$T/pipedesk/pipedesk.toml" "$ETC/main.cf" \
    || { SETUP_FAILED=1; echo "FAIL - could not enable import_environment in the shipped main.cf"; exit 1; }
shipped pipedesk.regexp > "$ETC/pipedesk.regexp"
# (virtual(8) refuses $1 substitution from regexp tables, hence a plain list)
for u in alice boss carol; do printf '%s@client.test %s/\n' "$u" "$u"; done > "$ETC/mailboxes"

# master.cf: Debian's default one, on a free port of 127.0.0.1, every service
# unchrooted (chroot = n is needed on these machines), plus the shipped service.
PORT=$(free_port)
awk -v port="$PORT" '
    /^smtp[ \t]+inet/ { $1 = "127.0.0.1:" port }
    /^[a-z0-9.:-]+[ \t]+(inet|unix|fifo|pass|unix-dgram)[ \t]/ { if ($5 == "y" || $5 == "-") $5 = "n" }
    { print }' "$MASTER_DIST" > "$ETC/master.cf"
shipped master.cf >> "$ETC/master.cf"

# The aliases/local(8) setup, owned by the delivery user (local(8) runs an
# alias command as the owner of the alias table).
shipped aliases > "$T/pipedesk/aliases"
shipped aliases.regexp > "$T/pipedesk/aliases.regexp"
postalias -c "$ETC" "hash:$T/pipedesk/aliases" || { SETUP_FAILED=1; echo "FAIL - postalias"; exit 1; }
chown "$PDUSER:$PDGROUP" "$T/pipedesk/aliases" "$T/pipedesk/aliases.db" "$T/pipedesk/aliases.regexp"

sed -e "s|@DOMAINS@|\"help.example.org\", \"desk.example.net\"|" -e "s|@SENDMAIL@|/usr/sbin/sendmail|" \
    "$HERE/pipedesk.toml.in" > "$CFG"
chown "$PDUSER:$PDGROUP" "$CFG"

# postdrop (setgid) accepts another instance's config dir only when the
# default main.cf lists it.
if [ -e "$SYS_MAINCF" ]; then cp -p "$SYS_MAINCF" "$T/system-main.cf.orig"; else : > "$T/system-main.cf.absent"; fi
old_alt=$(postconf -c /etc/postfix -h alternate_config_directories 2>/dev/null)
postconf -c /etc/postfix -e "alternate_config_directories = ${old_alt:+$old_alt }$ETC" 2>/dev/null \
    || { [ -e "$SYS_MAINCF" ] || printf 'alternate_config_directories = %s\n' "$ETC" > "$SYS_MAINCF"; }

if ! postfix -c "$ETC" check > "$T/check.log" 2>&1; then
    cat "$T/check.log"
    SETUP_FAILED=1
    echo "FAIL - postfix check refused the configuration (shipped files included)"
    exit 1
fi
if ! postfix -c "$ETC" start > "$T/start.log" 2>&1; then
    cat "$T/start.log"
    SETUP_FAILED=1
    skip "postfix -c $ETC start failed"
fi
STARTED=1
wait_until 30 port_open "$PORT" || { SETUP_FAILED=1; skip "Postfix did not listen on 127.0.0.1:$PORT within 30 s"; }
say "instance in $T, SMTP on 127.0.0.1:$PORT, pipedesk $PDSRC"

RUN=$(date +%s).$$
pq_json() { postqueue -c "$ETC" -j 2>/dev/null; }
queue_empty() { [ -z "$(pq_json)" ]; }
