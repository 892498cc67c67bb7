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

# common_routes LABEL NULL_NOTE: the scenarios both MTAs share, over real
# SMTP: a new request (ticket, autoreply with the null sender, admin notice
# from ticket-N@), an unknown local part refused at SMTP time, a reply, a
# staff comment, a bounce, and mail for a ticket that does not exist. Sets N,
# SUBJ and MID1 for the MTA's own scenarios after it.
common_routes() {
    local label=$1 null_note=$2 rc
    # ------------------------------------------------------ 1. new request
    SUBJ="Printer on fire $RUN"
    MID1="<new.$RUN@client.test>"
    mkmsg "$T/m1.eml" 'Alice <alice@client.test>' 'submit@help.example.org' "$SUBJ" "$MID1"
    check "SMTP: submit@help.example.org accepted" smtp alice@client.test submit@help.example.org "$T/m1.eml"
    if wait_until 30 has_ticket_subject "$SUBJ"; then
        N=$(ticket_by_subject "$SUBJ")
        ok "new request -> ticket #$N"
    else
        fail "new request: no ticket with subject '$SUBJ' within 30 s"
        N=0
    fi
    check "ticket #$N holds the message once" has_msg "$N" "$MID1"
    check "ticket #$N requestor is alice@client.test" test "$(ticket_field "$N" requestor)" = alice@client.test
    if wait_until 30 has_mail alice "[pipedesk #$N]" "Auto-Submitted: auto-replied"; then
        ok "autoreply delivered to alice's mailbox through $label's sendmail"
        AR=$(mails_matching alice "[pipedesk #$N]" "Auto-Submitted: auto-replied" | head -n1)
        check "autoreply sent with the null envelope sender (Return-Path: <>)" grep -qi '^Return-path: <>' "$AR"
    else
        fail "no autoreply for #$N in $MAILDIR/alice within 30 s"
    fi
    if wait_until 30 has_mail boss "[pipedesk #$N]"; then
        NB=$(mails_matching boss "[pipedesk #$N]" | head -n1)
        check "admin notice sent with envelope sender ticket-$N@help.example.org" \
            grep -qi "^Return-path: <ticket-$N@help.example.org>" "$NB"
    else
        fail "no new-ticket notice for #$N to the admin boss@client.test within 30 s"
    fi

    # ------------------------------------- 2. unknown local part: 550 at SMTP
    mkmsg "$T/m2.eml" 'Alice <alice@client.test>' 'nobody-here@help.example.org' "Hello $RUN" "<unk.$RUN@client.test>"
    smtp alice@client.test nobody-here@help.example.org "$T/m2.eml"
    rc=$?
    check "nobody-here@help.example.org rejected during SMTP (550, swaks rc=$rc)" \
        eval '[ $rc -ne 0 ] && grep -q "<\*\* *5[0-9][0-9]" "$T/swaks.last"'

    # ------------------------------------------ 3. reply to ticket-N@ appended
    MID3="<reply.$RUN@client.test>"
    mkmsg "$T/m3.eml" 'Alice <alice@client.test>' "ticket-$N@help.example.org" "Re: [pipedesk #$N] $SUBJ" "$MID3" \
        "In-Reply-To: $MID1"
    check "SMTP: ticket-$N@help.example.org accepted" smtp alice@client.test "ticket-$N@help.example.org" "$T/m3.eml"
    check "reply to ticket-$N@ appended to #$N" wait_until 30 has_msg "$N" "$MID3"
    check "reply stored as correspondence" test "$(msg_kind "$N" "$MID3")" = correspond

    # ---------------------------------- 3b. staff comment via ticket-N-comment@
    MID3B="<comment.$RUN@client.test>"
    mkmsg "$T/m3b.eml" 'Boss <boss@client.test>' "ticket-$N-comment@help.example.org" "Re: [pipedesk #$N] internal" "$MID3B"
    check "SMTP: ticket-$N-comment@ accepted" smtp boss@client.test "ticket-$N-comment@help.example.org" "$T/m3b.eml"
    check "staff mail to ticket-$N-comment@ stored on #$N" wait_until 30 has_msg "$N" "$MID3B"
    check "stored as a comment" test "$(msg_kind "$N" "$MID3B")" = comment

    # --------------------------- 4. a bounce (null sender) to ticket-N@: a comment
    MID4="<bounce.$RUN@client.test>"
    mkmsg "$T/m4.eml" 'Mail Delivery System <MAILER-DAEMON@client.test>' "ticket-$N@help.example.org" \
        "Undelivered Mail Returned to Sender" "$MID4"
    check "SMTP: MAIL FROM:<> to ticket-$N@ accepted" smtp '<>' "ticket-$N@help.example.org" "$T/m4.eml"
    check "bounce stored on #$N ($null_note)" wait_until 30 has_msg "$N" "$MID4"
    check "bounce stored as a comment" test "$(msg_kind "$N" "$MID4")" = comment

    # ------------------------------------ 5. no such ticket: bounced with our line
    MID5="<missing.$RUN@client.test>"
    mkmsg "$T/m5.eml" 'Alice <alice@client.test>' 'ticket-999@help.example.org' "About 999 $RUN" "$MID5"
    check "SMTP: ticket-999@help.example.org accepted (pipedesk decides)" smtp alice@client.test ticket-999@help.example.org "$T/m5.eml"
    if wait_until 30 has_mail alice "pipedesk: no ticket #999"; then
        ok "bounce for ticket-999@ reached alice with 'pipedesk: no ticket #999'"
    else
        fail "no bounce containing 'pipedesk: no ticket #999' in alice's mailbox within 30 s"
    fi
    check "no ticket #999 was created" eval '! ticket_exists 999'

}

summary() {
    printf '%s: %d passed, %d failed\n' "$MTA" "$PASS" "$FAIL"
}
