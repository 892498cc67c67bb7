# shellcheck shell=bash
# Helpers shared by tests/mta/postfix.sh and tests/mta/exim.sh (sourced).
# Expects: MTA (name), T (the temp dir), PDBIN, CFG, PDUSER, PDGROUP set by the caller.

PASS=0
FAIL=0
HERE=${HERE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

say()  { printf '%s: %s\n' "$MTA" "$*"; }
ok()   { PASS=$((PASS + 1)); printf 'ok   - %s\n' "$*"; }
fail() { FAIL=$((FAIL + 1)); printf 'FAIL - %s\n' "$*"; }
check() { # check DESCRIPTION COMMAND... : ok when the command succeeds
    local d=$1; shift
    if "$@"; then ok "$d"; else fail "$d"; fi
}

# wait_until SECONDS COMMAND... : poll every 0.5 s until the command succeeds.
wait_until() {
    local limit=$1; shift
    local end=$((SECONDS + limit))
    while :; do
        "$@" && return 0
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.5
    done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# pd ARGS... : run pipedesk as the delivery user, with the test config.
pd() {
    env PIPEDESK_CONFIG="$CFG" setpriv --reuid="$PDUSER" --regid="$PDGROUP" --clear-groups \
        "$PDBIN" "$@"
}

# pdjson QUERY ARGS... : queries on `pipedesk list --json` / `show N --json`.
pdjson() { python3 "$HERE/pdjson.py" "$@"; }

# ticket_by_subject TEXT : id of the ticket whose subject contains TEXT (or nothing)
ticket_by_subject() { pd list --json 2>/dev/null | pdjson find-subject "$1"; }
# msg_count N MSGID : how many history entries of ticket N carry MSGID
msg_count() { pd show "$1" --json 2>/dev/null | pdjson msg-count "$2"; }
# msg_kind N MSGID : kind of that history entry
msg_kind() { pd show "$1" --json 2>/dev/null | pdjson msg-kind "$2"; }
ticket_field() { pd show "$1" --json 2>/dev/null | pdjson field "$2"; }
ticket_exists() { pd list --json 2>/dev/null | pdjson has-id "$1"; }

has_ticket_subject() { [ -n "$(ticket_by_subject "$1")" ]; }
has_msg() { [ "$(msg_count "$1" "$2")" = 1 ]; }
status_is() { [ "$(ticket_field "$1" status)" = "$2" ]; }

# mkmsg FILE FROM TO SUBJECT MSGID [HEADER...] : write a small RFC 5322 message
mkmsg() {
    local f=$1 from=$2 to=$3 subj=$4 mid=$5; shift 5
    {
        printf 'From: %s\n' "$from"
        printf 'To: %s\n' "$to"
        printf 'Subject: %s\n' "$subj"
        printf 'Message-ID: %s\n' "$mid"
        printf 'Date: %s\n' "$(LC_ALL=C date -R)"
        printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n'
        local h; for h in "$@"; do printf '%s\n' "$h"; done
        printf '\nHello,\n\nthis is a test message (%s).\n' "$mid"
    } > "$f"
}

# smtp ENVFROM RCPT FILE : one SMTP transaction on 127.0.0.1:$PORT; the
# transcript goes to $T/swaks.log; returns swaks' exit code.
smtp() {
    local from=$1 to=$2 file=$3 rc
    printf '\n=== swaks %s -> %s (%s)\n' "$from" "$to" "$file" >> "$T/swaks.log"
    timeout 30 swaks --server 127.0.0.1 --port "$PORT" --helo client.test \
        --from "$from" --to "$to" --data "$file" --timeout 20 > "$T/swaks.last" 2>&1
    rc=$?
    cat "$T/swaks.last" >> "$T/swaks.log"
    return $rc
}

# mails_matching USER STRING... : files in USER's Maildir containing every STRING
mails_matching() {
    local user=$1; shift
    local f s hit
    for f in "$MAILDIR/$user"/new/* "$MAILDIR/$user"/cur/*; do
        [ -f "$f" ] || continue
        hit=1
        for s in "$@"; do grep -qF -- "$s" "$f" || { hit=; break; }; done
        [ -n "$hit" ] && echo "$f"
    done
    return 0
}
has_mail() { [ -n "$(mails_matching "$@")" ]; }

# A process holding a write lock on the pipedesk database (as the delivery
# user, so no root-owned -wal/-shm file appears). Sets LOCKER_PID.
start_locker() {
    local db=$1 secs=$2
    mkdir -p "$T/locker"
    chown "$PDUSER:$PDGROUP" "$T/locker"
    rm -f "$T/locker/ready"
    # the system's python3: root's may live where the delivery user cannot go
    local py=/usr/bin/python3
    [ -x "$py" ] || py=$(command -v python3)
    setpriv --reuid="$PDUSER" --regid="$PDGROUP" --clear-groups \
        "$py" -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").write("locked\n")
time.sleep(float(sys.argv[3]))
c.execute("COMMIT")
' "$db" "$T/locker/ready" "$secs" &
    LOCKER_PID=$!
    wait_until 15 test -e "$T/locker/ready"
}
stop_locker() {
    if [ -n "${LOCKER_PID:-}" ]; then
        kill "$LOCKER_PID" 2>/dev/null
        wait "$LOCKER_PID" 2>/dev/null
        LOCKER_PID=
    fi
}

summary() {
    printf '%s: %d passed, %d failed\n' "$MTA" "$PASS" "$FAIL"
}
