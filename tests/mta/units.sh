#!/bin/bash
# The shipped systemd units (examples/pipedesk-serve.service,
# pipedesk-flush.service) proven against a real Postfix: each unit's own
# ExecStart runs under the unit's restrictions, reproduced without systemd
# (it is not PID 1 on the machines that run the tests, so no systemd-run),
# and its mail goes through Postfix's sendmail and postdrop into the
# Postfix instance of postfix-instance.sh, which delivers it to a Maildir.
# Then the same with no_new_privs (`setpriv --no-new-privs`, what
# NoNewPrivileges=yes and the directives that imply it do): postdrop runs
# without its setgid (its effective group, read from /proc while it hangs,
# is the user's), cannot write the maildrop queue and retries until the
# sendmail limit kills it; the mail never reaches Postfix and stays in the
# outbox — the reason the units' comment gives for leaving all of those
# out. Those runs lower the 60 s limit to 5 s (PIPEDESK_TEST_SENDMAIL_LIMIT_MS,
# the hidden test knob of src/outbound/transport.rs) to keep this short.
#
#   bash tests/mta/units.sh /path/to/pipedesk
#
# What is reproduced, read from the unit file (never repeated here):
# - User=/Group=: a throwaway system user and group made for the run
#   (useradd --system, removed at exit), standing for `pipedesk`: like the
#   real one it is in no group but its own (systemd calls initgroups(3),
#   so does `setpriv --init-groups`), in particular not in `postdrop`;
#   `nobody` would do as well for sendmail, but a user of its own is what
#   the units ask for and owns nothing else on the machine;
# - no capabilities: a non-root User= gets none from systemd; here
#   setpriv drops the inheritable and ambient sets too, and a probe checks
#   that CapInh, CapPrm, CapEff and CapAmb are all zero;
# - UMask=; a clean environment (PATH, HOME, USER, LOGNAME, SHELL);
# - ProtectSystem=strict + ReadWritePaths=: in a mount namespace of its
#   own (unshare --mount), every mount but /dev, /proc and /sys remounted
#   read-only, then each ReadWritePaths bound writable ("-" ones skipped
#   when absent); ProtectHome=true (/home, /root, /run/user hidden),
#   PrivateTmp=true (a fresh /tmp and /var/tmp), ProtectControlGroups=true
#   (/sys/fs/cgroup read-only). Not reproduced: ProtectProc=invisible (it
#   needs a /proc of the unit's own) and RemoveIPC (nothing at stop); neither
#   touches sendmail.
# The one change to what the unit names is paths, as postfix.sh changes the
# shipped Postfix files: /usr/local/bin/pipedesk is this build,
# /var/lib/pipedesk and /var/spool/postfix are the test instance's folders
# (under /var/lib/pipedesk-mta, not /tmp, which PrivateTmp hides), the
# config is found by PIPEDESK_CONFIG and the instance by MAIL_CONFIG (the
# system's /etc/pipedesk and /etc/postfix in production).
#
# Prints "SKIP: reason" and exits 0 where Postfix cannot be run (not root,
# not installed); exits 1 when an assertion failed.
set -u
MTA=units
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
UNITS=$REPO/examples
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: $MTA: must run as root (starts Postfix, makes a user)"; exit 0; }
for tool in unshare setpriv useradd userdel curl; do
    command -v "$tool" >/dev/null || { echo "SKIP: $MTA: $tool is missing"; exit 0; }
done

# unit_values UNIT KEY: the values of KEY= in UNIT's [Service], one a line,
# a space-separated list split (ReadWritePaths=); comments left out.
unit_values() {
    awk -v key="$2" '
        /^[ \t]*[#;]/ || /^[ \t]*$/ { next }
        /^\[/ { section = $0; next }
        section == "[Service]" {
            i = index($0, "=")
            if (i && substr($0, 1, i - 1) == key) {
                n = split(substr($0, i + 1), v, /[ \t]+/)
                if (key == "ReadWritePaths") { for (j = 1; j <= n; j++) if (v[j] != "") print v[j] }
                else print substr($0, i + 1)
            }
        }' "$UNITS/$1"
}

# The throwaway service user; the instance's delivery user too, as the
# README has the MTA's pipe run deliver as the units' user.
UNIT_USER=$(unit_values pipedesk-serve.service User)
UNIT_GROUP=$(unit_values pipedesk-serve.service Group)
PDUSER="pdunit$$"
PDGROUP=$PDUSER
useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$PDUSER" || { echo "SKIP: $MTA: useradd $PDUSER failed"; exit 0; }
SERVE_PID=
on_cleanup() {
    if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; fi
    if [ "$FAIL" -gt 0 ]; then
        for f in "$T"/serve-*.log "$T"/flush-*.log; do
            [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }
        done
    fi
    # Whatever the throwaway user still runs (nothing, when all went well).
    for p in $(pgrep -u "$PDUSER"); do kill -9 "$p" 2>/dev/null; done
    userdel "$PDUSER" 2>/dev/null || echo "units: could not remove the throwaway user $PDUSER"
    getent group "$PDGROUP" >/dev/null && groupdel "$PDGROUP" 2>/dev/null
}
mkdir -p /var/lib/pipedesk-mta
T_BASE=/var/lib/pipedesk-mta
. "$HERE/postfix-instance.sh" "$@"
say "the units' User=$UNIT_USER Group=$UNIT_GROUP stand for the throwaway $PDUSER:$PDGROUP"

# in_unit UNIT NNP [CMD...]: runs CMD (by default the unit's ExecStart) under
# UNIT's restrictions, with no_new_privs as well when NNP is "nnp". Replaces
# the shell it runs in (call it in a subshell, or in the background).
in_unit() {
    local unit=$1 nnp=$2; shift 2
    local exec_start rw
    exec_start=$(unit_values "$unit" ExecStart | sed -e "s|/usr/local/bin/pipedesk|$PDBIN|")
    rw=$(unit_values "$unit" ReadWritePaths \
        | sed -e "s|/var/lib/pipedesk|$T/pipedesk|" -e "s|/var/spool/postfix/|$T/spool/|")
    # shellcheck disable=SC2086 # ExecStart is words, as systemd splits them
    [ $# -gt 0 ] || set -- $exec_start
    local limit=
    [ "$nnp" = nnp ] && limit=PIPEDESK_TEST_SENDMAIL_LIMIT_MS=5000
    exec env SB_RW="$rw" SB_USER="$PDUSER" SB_NNP="$nnp" \
        SB_UMASK="$(unit_values "$unit" UMask)" \
        SB_SYSTEM="$(unit_values "$unit" ProtectSystem)" \
        SB_HOME="$(unit_values "$unit" ProtectHome)" \
        SB_TMP="$(unit_values "$unit" PrivateTmp)" \
        SB_CGROUP="$(unit_values "$unit" ProtectControlGroups)" \
        SB_ENV="PIPEDESK_CONFIG=$CFG MAIL_CONFIG=$ETC $limit" \
        unshare --mount --propagation private bash "$HERE/unit-sandbox.sh" "$@"
}

# ------------------------------------------------ 0. the restrictions hold
PROBE='
caps=$(grep -E "^Cap(Inh|Prm|Eff|Amb):" /proc/self/status | grep -vc "0000000000000000$")
echo "caps-nonzero=$caps"
echo "nnp=$(sed -n "s/^NoNewPrivs:[[:space:]]*//p" /proc/self/status)"
echo "umask=$(umask)"
echo "groups=$(id -Gn)"
touch /usr/pipedesk-probe 2>/dev/null && echo "usr-writable" && rm -f /usr/pipedesk-probe
touch "$1/etc/probe" 2>/dev/null && echo "instance-config-writable" && rm -f "$1/etc/probe"
touch "$1/pipedesk/probe" 2>/dev/null && echo "database-folder-writable" && rm -f "$1/pipedesk/probe"
ls /root >/dev/null 2>&1 && echo "root-home-readable"
[ -z "$(ls -A /tmp)" ] && echo "tmp-private"
'
(in_unit pipedesk-serve.service "" sh -c "$PROBE" probe "$T") > "$T/probe.txt" 2>&1
check "under the unit: no capability in any set (CapInh/Prm/Eff/Amb all 0)" grep -qx 'caps-nonzero=0' "$T/probe.txt"
check "under the unit: no_new_privs is off" grep -qx 'nnp=0' "$T/probe.txt"
check "under the unit: UMask=$(unit_values pipedesk-serve.service UMask)" grep -qx "umask=$(unit_values pipedesk-serve.service UMask)" "$T/probe.txt"
check "under the unit: in no group but its own ($PDGROUP)" grep -qx "groups=$PDGROUP" "$T/probe.txt"
check "ProtectSystem=strict: /usr and the Postfix config read-only" \
    eval '! grep -qE "usr-writable|instance-config-writable" "$T/probe.txt"'
check "ReadWritePaths=/var/lib/pipedesk: the database folder writable" grep -qx 'database-folder-writable' "$T/probe.txt"
check "ProtectHome=true and PrivateTmp=true" eval '! grep -q root-home-readable "$T/probe.txt" && grep -qx tmp-private "$T/probe.txt"'
(in_unit pipedesk-serve.service nnp sh -c "$PROBE" probe "$T") > "$T/probe-nnp.txt" 2>&1
check "with setpriv --no-new-privs: no_new_privs is on" grep -qx 'nnp=1' "$T/probe-nnp.txt"

# ----------------------------------------------- a ticket, by real SMTP
SUBJ="Printer on fire $RUN"
mkmsg "$T/m1.eml" 'Alice <alice@client.test>' 'submit@help.example.org' "$SUBJ" "<new.$RUN@client.test>"
check "SMTP: submit@help.example.org accepted" smtp alice@client.test submit@help.example.org "$T/m1.eml"
if wait_until 30 has_ticket_subject "$SUBJ"; then
    N=$(ticket_by_subject "$SUBJ")
    ok "new request -> ticket #$N, delivered by $PDUSER"
else
    fail "no ticket with subject '$SUBJ' within 30 s"
    N=1
fi
TOKEN=$(pd token boss@client.test 2>/dev/null)
WPORT=$(free_port)
printf '\n[web]\nlisten = "127.0.0.1:%s"\nbase_url = "http://127.0.0.1:%s"\n' "$WPORT" "$WPORT" >> "$CFG"

# outbox_row TEXT: "state attempts last_error" of the outbox mail holding TEXT
outbox_row() {
    setpriv --reuid="$PDUSER" --regid="$PDGROUP" --clear-groups /usr/bin/python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
for row in c.execute("SELECT state, attempts, coalesce(last_error, \"\") FROM outbox WHERE instr(raw, ?)", (sys.argv[2].encode(),)):
    print(*row)' "$T/pipedesk/pipedesk.db" "$1"
}
# make_due TEXT: its back-off over at once, as if the minute had passed
make_due() {
    setpriv --reuid="$PDUSER" --regid="$PDGROUP" --clear-groups /usr/bin/python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
c.execute("UPDATE outbox SET next_attempt = \"1970-01-01T00:00:00Z\" WHERE state = \"queued\" AND instr(raw, ?)", (sys.argv[2].encode(),))
c.commit()' "$T/pipedesk/pipedesk.db" "$1"
}
# postdrop_gids: "real effective saved fs" groups of a running postdrop of the user
postdrop_gids() {
    local p
    for p in $(pgrep -u "$PDUSER" -x postdrop); do
        sed -n 's/^Gid:[[:space:]]*//p' "/proc/$p/status"
    done | head -n 1 | grep .
}
# postdrop_running: a postdrop of the user still runs (a killed one may stay
# a zombie where PID 1 reaps nothing: that one does not run)
postdrop_running() {
    ps -u "$PDUSER" -o stat=,comm= | awk '$2 == "postdrop" && $1 !~ /^Z/ { found = 1 } END { exit !found }'
}
maildrop_empty() { [ -z "$(ls -A "$T/spool/maildrop")" ]; }

# serve_reply LABEL NNP TEXT: serve under its unit, POST a reply with TEXT,
# stop it with SIGTERM; sets CODE (the HTTP status) and SERVE_RC.
serve_reply() {
    local label=$1 nnp=$2 text=$3
    in_unit pipedesk-serve.service "$nnp" > "$T/serve-$label.log" 2>&1 &
    SERVE_PID=$!
    if ! wait_until 30 port_open "$WPORT"; then
        fail "$label: serve did not listen on 127.0.0.1:$WPORT within 30 s"
    fi
    curl -s -o "$T/reply-$label.json" -w '%{http_code}' --max-time 90 \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        --data "{\"body\": \"$text\"}" "http://127.0.0.1:$WPORT/api/tickets/$N/reply" \
        > "$T/code-$label" &
    local curl_pid=$!
    # A postdrop that hangs (refused its queue) shows its groups meanwhile.
    [ "$nnp" = nnp ] && wait_until 20 postdrop_gids > "$T/postdrop-gids"
    wait "$curl_pid"
    CODE=$(cat "$T/code-$label")
    kill -TERM "$SERVE_PID"
    wait "$SERVE_PID"
    SERVE_RC=$?
    SERVE_PID=
}

# ---------------- 1. serve, as its unit runs it: the reply reaches Postfix
TEXT1="Unplug it, we are on our way ($RUN)."
serve_reply unit "" "$TEXT1"
check "serve unit: POST /api/tickets/$N/reply answered 200 (got $CODE)" test "$CODE" = 200
check "serve unit: the reply went through sendmail/postdrop and Postfix into alice's Maildir" \
    wait_until 30 has_mail alice "$TEXT1" "[pipedesk #$N]"
check "serve unit: the outbox has it sent" eval '[ "$(outbox_row "$TEXT1" | cut -d" " -f1)" = sent ]'
check "serve unit: SIGTERM stops it with exit 0 (got $SERVE_RC)" test "$SERVE_RC" = 0

# ------- 2. the same with no_new_privs: postdrop loses its setgid, nothing sent
TEXT2="Try turning it off and on again ($RUN)."
serve_reply nnp nnp "$TEXT2"
check "serve unit + no_new_privs: the reply itself is stored (200, got $CODE)" test "$CODE" = 200
read -r _ PD_EGID _ < "$T/postdrop-gids"
USER_GID=$(getent group "$PDGROUP" | cut -d: -f3)
POSTDROP_GID=$(getent group postdrop | cut -d: -f3)
check "serve unit + no_new_privs: postdrop ran without its setgid (effective group ${PD_EGID:-none}: $PDGROUP=$USER_GID, not postdrop=$POSTDROP_GID)" \
    test "${PD_EGID:-none}" = "$USER_GID"
ROW=$(outbox_row "$TEXT2")
check "serve unit + no_new_privs: the mail stays queued, sendmail killed at the limit (outbox: ${ROW:0:160})" \
    eval '[ "${ROW%% *}" = queued ] && printf "%s" "$ROW" | grep -q "did not finish"'
check "serve unit + no_new_privs: no postdrop left running" eval '! postdrop_running'
check "serve unit + no_new_privs: nothing reached Postfix (maildrop and queue empty)" \
    eval 'maildrop_empty && queue_empty && ! has_mail alice "$TEXT2"'

# ----------- 3. flush --due, as its unit runs it: fails with no_new_privs, then sends
make_due "$TEXT2"
(in_unit pipedesk-flush.service nnp) > "$T/flush-nnp.log" 2>&1
rc=$?
check "flush unit + no_new_privs: exit 75, the unit fails (got $rc)" test "$rc" = 75
check "flush unit + no_new_privs: still queued, nothing reached Postfix" \
    eval '[ "$(outbox_row "$TEXT2" | cut -d" " -f1)" = queued ] && maildrop_empty && queue_empty'
make_due "$TEXT2"
(in_unit pipedesk-flush.service "") > "$T/flush-unit.log" 2>&1
rc=$?
check "flush unit: exit 0 (got $rc)" test "$rc" = 0
check "flush unit: the queued reply went through Postfix into alice's Maildir" \
    wait_until 30 has_mail alice "$TEXT2" "[pipedesk #$N]"
check "flush unit: the outbox has it sent" eval '[ "$(outbox_row "$TEXT2" | cut -d" " -f1)" = sent ]'
check "the Postfix queue is empty at the end" wait_until 30 queue_empty
summary
[ "$FAIL" -eq 0 ]
