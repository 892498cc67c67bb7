"""Seed pipedesk databases with N tickets in bulk, for the cost curve.

pipedesk creates the database itself (`pipedesk init`, or the first
`deliver`); this module then writes rows the way deliveries would have:
a ticket, its requestor as watcher, the requestor's message byte-exact with its
decoded body, the full-text index entry, the `create` history entry, and the
autoreply and the admin's notice in the outbox; on every fifth ticket a staff reply (message,
`correspond` and `status` history, the mail to the requestor); most tickets
resolved.  Bodies mix help-desk prose with words drawn from a Zipf-distributed
synthetic vocabulary, so a search term can be picked by how many messages hold
it (the SEARCHES below).

Seeded databases are cached under CACHE/seeded/<schema hash>/<N>.db, so a
schema change seeds anew and a rerun with the same schema is fast.  The seeder
checks the columns it knows against the live schema and refuses to seed a
schema it does not understand (a new NOT NULL column, say), rather than
produce a database no delivery could have made.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time

import gen

# ---------------------------------------------------------------------------
# Vocabulary and searches
# ---------------------------------------------------------------------------

_SYL = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zen", "dar", "fel", "gor", "hin", "jas",
        "kel", "lum", "mor", "nix", "pra", "qua", "rin", "sol", "tur", "ulm", "vex", "wyn",
        "xer", "yol", "zor", "bri", "cai", "dov", "eph", "fyr", "gla", "hov", "ith", "jor",
        "kry", "lev", "myr", "nor", "oth", "pyl", "rho", "sku", "tal", "ust", "vin", "wex"]
VOCAB_SIZE = 30_000
WORDS_PER_MESSAGE = 8


def vocabulary() -> list[str]:
    rng = random.Random(4242)
    seen: set[str] = set()
    out = []
    while len(out) < VOCAB_SIZE:
        w = "".join(rng.choice(_SYL) for _ in range(rng.randrange(3, 5)))
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


VOCAB = vocabulary()
_H = sum(1 / (r + 1) for r in range(VOCAB_SIZE))


def expected_hits(rank: int, messages: int) -> int:
    """About how many of `messages` seeded messages hold VOCAB[rank]."""
    p = (1 / (rank + 1)) / _H
    return round(messages * (1 - (1 - p) ** WORDS_PER_MESSAGE))


# (words, what they exercise) — timed with `pipedesk search WORDS` at 1M.
SEARCHES = [
    ([VOCAB[29_999]], "rare word"),
    ([VOCAB[4_999]], "uncommon word"),
    ([VOCAB[99]], "common word"),
    ([VOCAB[9], VOCAB[199]], "two words"),
    (["printer"], "word in 5% of subjects"),
    (["qqqzzzxxx"], "no match"),
]


# ---------------------------------------------------------------------------
# Schema: created by pipedesk, checked here
# ---------------------------------------------------------------------------

# The columns this seeder fills, per table.
KNOWN = {
    "tickets": {"id", "queue", "subject", "status", "requestor", "owner", "priority", "created", "updated"},
    "watchers": {"ticket_id", "address"},
    "messages": {"id", "key", "message_id", "ticket_id", "received", "envelope_sender", "recipient",
                 "author", "subject", "body", "size", "raw"},
    "history": {"id", "ticket_id", "kind", "author", "date", "message", "old", "new", "note"},
    "outbox": {"id", "ticket_id", "kind", "message_id", "envelope_from", "recipients", "raw", "created",
               "state", "attempts", "last_error", "next_attempt", "sent"},
}
FTS_TABLE = "messages_fts"


def create_empty(pd, d: str) -> str:
    """A database with pipedesk's schema and nothing in it, made by pipedesk."""
    os.makedirs(d, exist_ok=True)
    cfg = os.path.join(d, "pipedesk.toml")
    db = os.path.join(d, "pipedesk.db")
    for p in (db, db + "-wal", db + "-shm"):
        if os.path.exists(p):
            os.unlink(p)
    with open(cfg, "w") as f:
        f.write(pd.config())
    r = subprocess.run(pd.cmd(d, "init"), capture_output=True, text=True)
    if not os.path.exists(db):
        # init may not create the database here: `check` opens it, and
        # opening migrates.
        subprocess.run(pd.cmd(d, "check"), capture_output=True, text=True)
    if not os.path.exists(db):
        raise SystemExit(f"pipedesk init did not create {db}: exit {r.returncode} {r.stderr.strip()}")
    # init may have rewritten the config; the benchmark's own is the one used.
    with open(cfg, "w") as f:
        f.write(pd.config())
    c = sqlite3.connect(db)
    try:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        n = c.execute("select count(*) from tickets").fetchone()[0]
        if n:
            raise SystemExit(f"pipedesk init left {n} tickets in {db}")
    finally:
        c.close()
    return db


def probe_schema(pd, d: str) -> str:
    db = create_empty(pd, d)
    c = sqlite3.connect(db)
    try:
        rows = c.execute("select type, name, sql from sqlite_master where sql is not null "
                         "order by type, name").fetchall()
        version = c.execute("PRAGMA user_version").fetchone()[0]
    finally:
        c.close()
    return f"-- user_version {version}\n" + "\n".join(f"{r[2]};" for r in rows)


def schema_key(schema_sql: str) -> str:
    return hashlib.sha256(schema_sql.encode()).hexdigest()[:12]


def check_schema(c: sqlite3.Connection) -> list[str]:
    """Refuse what we cannot fill; return notes on what we leave empty."""
    notes = []
    tables = {r[0] for r in c.execute("select name from sqlite_master where type = 'table'")}
    for t, cols in KNOWN.items():
        if t not in tables:
            raise SystemExit(f"seed: pipedesk's schema has no table {t}: update bench/seed.py")
        for _cid, name, _type, notnull, default, pk in c.execute(f"PRAGMA table_info({t})"):
            if name not in cols and notnull and default is None and not pk:
                raise SystemExit(f"seed: {t}.{name} is NOT NULL and unknown to bench/seed.py: update it")
            if name not in cols:
                notes.append(f"{t}.{name} left at its default")
    if FTS_TABLE not in tables:
        raise SystemExit(f"seed: no {FTS_TABLE} table: update bench/seed.py")
    fts_shadow = {f"{FTS_TABLE}_{s}" for s in ("data", "idx", "content", "docsize", "config")}
    for t in sorted(tables - set(KNOWN) - fts_shadow - {FTS_TABLE} - {"sqlite_sequence", "sqlite_stat1"}):
        notes.append(f"table {t} left empty")
    return notes


# ---------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------

def _ts(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _rfc(t: int) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))


class Rows:
    """Deterministic synthetic deliveries, fast enough for a million."""

    def __init__(self, seed: int = 7):
        self.rng = random.Random(seed)
        r = self.rng
        self.cum = list(itertools.accumulate(1 / (i + 1) for i in range(VOCAB_SIZE)))
        self.paras = []
        for _ in range(3000):
            self.paras.append(gen._wrap(" ".join(r.choice(gen.SENTENCES) for _ in range(r.randrange(2, 5)))))
        first = ["Anna", "Ben", "Carla", "Dev", "Elif", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kai",
                 "Lena", "Mo", "Nia", "Omar", "Pia", "Raj", "Sara", "Tom", "Uma", "Vik", "Wen", "Yara", "Zoe"]
        last = ["Smith", "Garcia", "Ivanova", "Kim", "Müller", "Rossi", "Dubois", "Silva", "Tanaka",
                "Novak", "Jensen", "Okoye", "Haddad", "Nowak", "Costa", "Berg", "Patel", "Lopez"]
        doms = [f"example{i}.com" for i in range(400)] + ["example.org", "example.net"]
        self.people = []
        for i in range(200_000):
            f, l = r.choice(first), r.choice(last)
            addr = f"{f.lower()}.{l.lower().replace('ü', 'ue')}{i}@{r.choice(doms)}"
            self.people.append((f"{f} {l}", addr))
        self.staff = [a for _, a in gen.STAFF[:2]]

    def words(self, k: int) -> list[str]:
        cum, total = self.cum, self.cum[-1]
        rnd = self.rng.random
        return [VOCAB[bisect.bisect_left(cum, rnd() * total)] for _ in range(k)]

    def body(self, name: str) -> str:
        r = self.rng
        w = self.words(WORDS_PER_MESSAGE)
        detail = (f"The affected system is {w[0]} on {w[1]}, and the log mentions {w[2]}, "
                  f"{w[3]} and {w[4]}. Our reference is {w[5]}-{r.randrange(10000)}; "
                  f"see also {w[6]} and {w[7]}.")
        paras = [r.choice(self.paras) for _ in range(r.randrange(2, 4))]
        return (f"Hello,\n\n{paras[0]}\n\n{gen._wrap(detail)}\n\n" + "\n\n".join(paras[1:])
                + f"\n\nBest regards,\n{name}\n")

    @staticmethod
    def raw(frm: tuple[str, str], to: str, subject: str, msgid: str, t: int, body: str,
            extra: str = "") -> bytes:
        name, addr = frm
        return (f"Return-Path: <{addr}>\n"
                f"Received: from mail.example.com (mail.example.com [192.0.2.7])\n"
                f"\tby mx.{gen.DOMAIN} (Postfix) with ESMTPS\n\tfor <{to}>; {_rfc(t)}\n"
                f"From: {name} <{addr}>\nTo: {to}\nSubject: {subject}\nDate: {_rfc(t)}\n"
                f"Message-ID: {msgid}\n{extra}MIME-Version: 1.0\n"
                f"Content-Type: text/plain; charset=\"utf-8\"\nContent-Transfer-Encoding: 8bit\n\n"
                ).encode() + body.encode()

    @staticmethod
    def autoreply(ticket: int, to: str, subject: str, in_reply_to: str, msgid: str, t: int) -> bytes:
        return (f"From: \"Support\" <ticket-{ticket}@{gen.DOMAIN}>\nTo: {to}\n"
                f"Subject: [{gen.SITE} #{ticket}] {subject}\nDate: {_rfc(t)}\nMessage-ID: {msgid}\n"
                f"In-Reply-To: {in_reply_to}\nReferences: {in_reply_to}\n"
                f"Reply-To: ticket-{ticket}@{gen.DOMAIN}\nAuto-Submitted: auto-replied\n"
                f"X-Loop: {gen.SITE}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=\"utf-8\"\n\n"
                f"Your request has been received and given the number {ticket}.\n"
                f"Please keep [{gen.SITE} #{ticket}] in the subject of any reply.\n").encode()


def seed(db: str, n: int, log=print) -> list[str]:
    """Add tickets until the database holds n of them."""
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA journal_mode = OFF")
    c.execute("PRAGMA synchronous = OFF")
    c.execute("PRAGMA cache_size = -2000000")  # 2 GB: the unique-key B-trees stay in memory
    c.execute("PRAGMA temp_store = MEMORY")
    notes = check_schema(c)
    have = c.execute("select count(*) from tickets").fetchone()[0]
    start = (c.execute("select coalesce(max(id), 0) from tickets").fetchone()[0]) + 1
    mid = (c.execute("select coalesce(max(id), 0) from messages").fetchone()[0]) + 1
    hid = (c.execute("select coalesce(max(id), 0) from history").fetchone()[0]) + 1
    oid = (c.execute("select coalesce(max(id), 0) from outbox").fetchone()[0]) + 1
    todo = n - have
    if todo <= 0:
        c.close()
        return notes
    rows = Rows()
    r = rows.rng
    # Tickets arrive over five years up to a week before the benchmark's own
    # mail, evenly, so `created` order is id order as with real deliveries.
    t_end = 1_763_370_000 - 7 * 86400
    t0 = t_end - 5 * 365 * 86400
    step = (t_end - t0) / max(todo, 1)
    tick, watch, msgs, fts, hist, outb = [], [], [], [], [], []

    def flush():
        c.execute("BEGIN")
        c.executemany("INSERT INTO tickets (id, queue, subject, status, requestor, owner, priority, "
                      "created, updated) VALUES (?,?,?,?,?,?,?,?,?)", tick)
        c.executemany("INSERT INTO watchers (ticket_id, address) VALUES (?,?)", watch)
        c.executemany("INSERT INTO messages (id, key, message_id, ticket_id, received, envelope_sender, "
                      "recipient, author, subject, body, size, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", msgs)
        c.executemany(f"INSERT INTO {FTS_TABLE} (rowid, subject, body) VALUES (?,?,?)", fts)
        c.executemany("INSERT INTO history (id, ticket_id, kind, author, date, message, old, new, note) "
                      "VALUES (?,?,?,?,?,?,?,?,?)", hist)
        c.executemany("INSERT INTO outbox (id, ticket_id, kind, message_id, envelope_from, recipients, raw, "
                      "created, state, attempts, last_error, next_attempt, sent) "
                      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", outb)
        c.execute("COMMIT")
        for lst in (tick, watch, msgs, fts, hist, outb):
            lst.clear()

    began = time.time()
    for k in range(todo):
        tid = start + k
        t = int(t0 + k * step)
        name, addr = r.choice(rows.people)
        subject = f"{r.choice(gen.PROBLEMS)} (ref S{tid:07d})"
        body = rows.body(name)
        bare = f"seed.{tid}.{r.randrange(16 ** 8):08x}@mail.example.com"
        msgid = f"<{bare}>"
        raw = rows.raw((name, addr), gen.SUBMIT, subject, msgid, t, body)
        # As deliver stores them: key with angle brackets, message_id bare.
        msgs.append((mid, msgid, bare, tid, _ts(t), addr, gen.SUBMIT, addr, subject, body, len(raw), raw))
        fts.append((mid, subject, body))
        hist.append((hid, tid, "create", addr, _ts(t), mid, None, None, None))
        hid += 1
        first_mid = msgid
        mid += 1
        ar_id = f"pipedesk.{tid}.ar@{gen.DOMAIN}"  # the outbox keeps ids bare
        outb.append((oid, tid, "autoreply", ar_id, "", addr,
                     rows.autoreply(tid, addr, subject, first_mid, f"<{ar_id}>", t), _ts(t), "sent", 1, None,
                     _ts(t), _ts(t + 1)))
        oid += 1
        # The notice to the admin: headers and the whole request quoted.
        nt_id = f"pipedesk.{tid}.nt@{gen.DOMAIN}"
        notice = (f"From: Support <ticket-{tid}@{gen.DOMAIN}>\nTo: {gen.ADMINS[0]}\n"
                  f"Subject: [{gen.SITE} #{tid}] {subject}\nMessage-ID: <{nt_id}>\n"
                  f"Auto-Submitted: auto-generated\nX-Loop: {gen.SITE}\n\n"
                  f"New ticket #{tid} in queue general, from {addr}:\n\n    {subject}\n\n").encode() + body.encode()
        outb.append((oid, tid, "new_ticket", nt_id, f"ticket-{tid}@{gen.DOMAIN}", gen.ADMINS[0], notice,
                     _ts(t), "sent", 1, None, _ts(t), _ts(t + 1)))
        oid += 1
        watch.append((tid, addr))
        roll = r.random()
        status = "resolved" if roll < 0.85 else ("open" if roll < 0.95 else "new")
        if tid % 5 == 0 and status == "new":
            status = "open"  # staff replied
        owner = None
        updated = t
        if tid % 5 == 0 or status != "new":
            staff = rows.staff[tid % 2]
            owner = staff if status != "new" else None
        if tid % 5 == 0:
            # A staff reply, relayed to the requestor.
            t2 = t + r.randrange(600, 86400)
            rbody = r.choice(gen.REPLY_LINES[4:]) + "\n\n" + rows.body("Sam Support")
            rbare = f"seed.{tid}.r.{r.randrange(16 ** 8):08x}@staff.example.net"
            rid = f"<{rbare}>"
            rsub = f"Re: [{gen.SITE} #{tid}] {subject}"
            rraw = rows.raw(("Sam Support", gen.STAFF[0][1]), f"ticket-{tid}@{gen.DOMAIN}", rsub, rid, t2,
                            rbody, extra=f"In-Reply-To: <{ar_id}>\nReferences: {first_mid} <{ar_id}>\n")
            msgs.append((mid, rid, rbare, tid, _ts(t2), gen.STAFF[0][1], f"ticket-{tid}@{gen.DOMAIN}",
                         gen.STAFF[0][1], rsub, rbody, len(rraw), rraw))
            fts.append((mid, rsub, rbody))
            hist.append((hid, tid, "correspond", gen.STAFF[0][1], _ts(t2), mid, None, None, None))
            hid += 1
            if status != "new":
                hist.append((hid, tid, "status", gen.STAFF[0][1], _ts(t2), None, "new", "open", None))
                hid += 1
            rel = f"pipedesk.{tid}.r@{gen.DOMAIN}"
            outb.append((oid, tid, "staff_reply", rel, f"ticket-{tid}@{gen.DOMAIN}", addr, rraw,
                         _ts(t2), "sent", 1, None, _ts(t2), _ts(t2 + 1)))
            oid += 1
            mid += 1
            updated = t2
        elif status != "new":
            updated = t + r.randrange(600, 86400)
            hist.append((hid, tid, "status", owner, _ts(updated), None, "new", "open", None))
            hid += 1
        if status == "resolved":
            updated += r.randrange(3600, 5 * 86400)
            hist.append((hid, tid, "status", owner, _ts(updated), None, "open", "resolved", None))
            hid += 1
        tick.append((tid, "general", subject, status, addr, owner, 0, _ts(t), _ts(updated)))
        if len(tick) >= 20_000:
            flush()
            if (k + 1) % 100_000 == 0:
                el = time.time() - began
                log(f"    seeded {k + 1:,} of {todo:,} tickets ({el:.0f} s, "
                    f"~{el / (k + 1) * (todo - k - 1):.0f} s to go)")
    flush()
    log("    optimizing the search index and analysing")
    c.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('optimize')")
    c.execute("ANALYZE")
    # Back to what pipedesk leaves on disk.
    c.execute("PRAGMA journal_mode = WAL")
    c.close()
    return notes


def ensure_seeded(pd, cache: str, key: str, n: int, schema_sql: str, log=print) -> str:
    """The cached database with n seeded tickets, seeding it if needed."""
    d = os.path.join(cache, "seeded", key)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "schema.sql"), "w") as f:
        f.write(schema_sql)
    path = os.path.join(d, f"{n}.db")
    done = path + ".done"
    if os.path.exists(done):
        return path
    # Drop databases seeded for other schemas: they can be big.
    for other in os.listdir(os.path.join(cache, "seeded")):
        if other != key:
            shutil.rmtree(os.path.join(cache, "seeded", other), ignore_errors=True)
    log(f"  seeding a {n:,}-ticket database (cached in {d})")
    t = time.time()
    tmp = create_empty(pd, os.path.join(d, f"tmp-{n}"))
    # In a child process: seeding grows a big page cache, and the benchmark's
    # own process should stay small.
    subprocess.run([sys.executable, os.path.abspath(__file__), tmp, str(n)], check=True)
    os.replace(tmp, path)
    shutil.rmtree(os.path.join(d, f"tmp-{n}"), ignore_errors=True)
    with open(done, "w") as f:
        f.write(f"{time.time() - t:.0f} s\n")
    log(f"  seeded {n:,} tickets in {time.time() - t:.0f} s, {os.path.getsize(path) / 2**30:.2f} GiB")
    return path


def copy_db(src: str, dst: str) -> None:
    """Copy a seeded database, and flush the copy to disk before returning:
    gigabytes of dirty pages still being written back would land in the
    first deliveries' fsyncs (measured: 20-40 ms instead of 6 at 1M)."""
    for suffix in ("-wal", "-shm"):
        if os.path.exists(dst + suffix):
            os.unlink(dst + suffix)
    shutil.copyfile(src, dst)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.sync()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: seed.py DB N  (DB made by pipedesk; adds tickets until it holds N)")
    for note in seed(sys.argv[1], int(sys.argv[2]), lambda *a: print(*a, file=sys.stderr, flush=True)):
        print(f"seed: {note}", file=sys.stderr)
