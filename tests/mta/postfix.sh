#!/bin/bash
# End-to-end test of the shipped Postfix setup (postfix/) against a real
# Postfix, with real SMTP on 127.0.0.1.
#
#   bash tests/mta/postfix.sh /path/to/pipedesk
#
# Runs as root. Starts a throwaway Postfix instance (postfix -c TMP/etc) whose
# main.cf/master.cf are the Debian defaults plus the shipped postfix/ files with
# paths rewritten by sed, on a free port of 127.0.0.1; the system's own Postfix
# (if any) keeps running untouched. The only change outside the temp dir is
# the line "alternate_config_directories = TMP/etc" in /etc/postfix/main.cf,
# which postdrop needs before it accepts mail for another instance (the
# autoreply that pipedesk, as an unprivileged user, hands to sendmail); the
# file is restored (or removed, if it did not exist) on exit.
#
# Prints "SKIP: reason" and exits 0 where Postfix cannot be installed or
# started; exits 1 when an assertion failed. Every wait is bounded (30 s).
# PIPEDESK_MTA_KEEP=1 keeps the temp dir for a look afterwards.
set -u
MTA=postfix
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"

. "$HERE/postfix-instance.sh" "$@"

# deferred_for RCPT: the queue holds a deferred message for RCPT
deferred_for() {
    pq_json | python3 -c '
import json, sys
for line in sys.stdin:
    q = json.loads(line)
    if q.get("queue_name") == "deferred" and any(r.get("address", "").lower() == sys.argv[1] for r in q.get("recipients", [])):
        print(" / ".join(r.get("delay_reason", "") for r in q["recipients"]))
        sys.exit(0)
sys.exit(1)' "$1"
}

common_routes "Postfix" "null sender passed as empty, null_sender="

# ------------------------ 6. database locked: deferred (75), then stored once
MID6="<locked.$RUN@client.test>"
mkmsg "$T/m6.eml" 'Alice <alice@client.test>' "ticket-$N@help.example.org" "Re: [pipedesk #$N] locked $RUN" "$MID6"
if start_locker "$T/pipedesk/pipedesk.db" 120; then
    check "SMTP: message to ticket-$N@ accepted while the database is locked" \
        smtp alice@client.test "ticket-$N@help.example.org" "$T/m6.eml"
    if wait_until 30 deferred_for "ticket-$N@help.example.org" > "$T/deferred.txt"; then
        ok "Postfix deferred it: $(head -c 200 "$T/deferred.txt")"
    else
        fail "message to ticket-$N@ was not deferred within 30 s"
    fi
    stop_locker
    check "nothing stored while the database was locked" test "$(msg_count "$N" "$MID6")" = 0
    postqueue -c "$ETC" -f
    check "after postqueue -f the message is stored" wait_until 30 has_msg "$N" "$MID6"
    check "the queue is empty afterwards" wait_until 30 queue_empty
    check "the message is stored exactly once" test "$(msg_count "$N" "$MID6")" = 1
else
    fail "could not lock the database $T/pipedesk/pipedesk.db"
    stop_locker
fi

# ------------------------------------------------- 7. ticket-N-done@ resolves
# Sent by the admin (staff may close; the requestor may too, but then gets no
# notice: pipedesk never mails the author of the message that caused it).
MID7="<done.$RUN@client.test>"
mkmsg "$T/m7.eml" 'Boss <boss@client.test>' "ticket-$N-done@help.example.org" "Re: [pipedesk #$N] fixed" "$MID7"
check "SMTP: ticket-$N-done@ accepted" smtp boss@client.test "ticket-$N-done@help.example.org" "$T/m7.eml"
check "ticket-$N-done@ resolved #$N" wait_until 30 status_is "$N" resolved
check "the closing message is stored on #$N" has_msg "$N" "$MID7"
if wait_until 30 has_mail alice "[pipedesk #$N]" "Return-Path: <ticket-$N@help.example.org>"; then
    ok "requestor alice told of the close, envelope sender ticket-$N@help.example.org"
else
    fail "no mail to alice from envelope sender ticket-$N@help.example.org after the close within 30 s"
fi

# ------------------- 8. the aliases/local(8) way: recipient from the environment
SUBJ8="Alias route $RUN"
MID8="<alias.$RUN@client.test>"
mkmsg "$T/m8.eml" 'Carol <carol@client.test>' 'submit@desk.example.net' "$SUBJ8" "$MID8"
check "SMTP: submit@desk.example.net (aliases, local(8)) accepted" smtp carol@client.test submit@desk.example.net "$T/m8.eml"
if wait_until 30 has_ticket_subject "$SUBJ8"; then
    M=$(ticket_by_subject "$SUBJ8")
    ok "aliases: submit@desk.example.net -> ticket #$M (recipient from \$ORIGINAL_RECIPIENT)"
    MID9="<alias-reply.$RUN@client.test>"
    mkmsg "$T/m9.eml" 'Carol <carol@client.test>' "ticket-$M@desk.example.net" "Re: [pipedesk #$M] $SUBJ8" "$MID9"
    check "SMTP: ticket-$M@desk.example.net (aliases.regexp) accepted" smtp carol@client.test "ticket-$M@desk.example.net" "$T/m9.eml"
    check "aliases.regexp: reply to ticket-$M@desk.example.net appended to #$M" wait_until 30 has_msg "$M" "$MID9"
else
    fail "aliases: no ticket for submit@desk.example.net within 30 s"
fi

check "the Postfix queue is empty at the end" wait_until 30 queue_empty
summary
[ "$FAIL" -eq 0 ]
