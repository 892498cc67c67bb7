#!/usr/bin/env python3
"""pipedesk's benchmark: one command, results into BENCHMARKS.md.

    python3 bench/run.py            # full run, ~8 minutes on 2 cores once seeded
    python3 bench/run.py --quick    # short run, ~1 minute

Delivers a deterministic message mix (bench/gen.py) one process per message,
as an MTA's pipe transport does, through `pipedesk deliver` (default
durability), through Roundup's `roundup-mailgw` (a throwaway venv, sqlite
tracker, mail written to a file), and through a program that only reads stdin
(the floor), alternating between them so that machine noise hits all alike.
Then peak RSS for 1 MB and 50 MB messages, and the cost curve at 1 000,
100 000 and 1 000 000 seeded tickets.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gen  # noqa: E402
import seed  # noqa: E402
import web  # noqa: E402  (the web phase: bench/web.py, runnable alone too)

REPO = os.path.dirname(HERE)
MiB = 1024 * 1024


def log(*a) -> None:
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Running one process per message
# ---------------------------------------------------------------------------

class Result:
    __slots__ = ("ns", "rc", "rss_kib", "out")

    def __init__(self, ns, rc, rss_kib, out):
        self.ns, self.rc, self.rss_kib, self.out = ns, rc, rss_kib, out


RSS_TOOL: str | None = None  # bench/rss.c, compiled by build_tools()


def run_one(argv: list[str], stdin_path: str | None, cwd: str | None = None,
            stdout_path: str | None = None, rss: bool = False) -> Result:
    """Run argv with stdin from a file; wall time, exit code, output.

    stdout and stderr go to one pipe that is read to EOF (so nothing blocks),
    or stdout to a file for commands that print a lot.  With rss, the child
    runs under bench/rss.c, which reports its true peak RSS (KiB); the
    ru_maxrss that wait4 gives Python is polluted by Python's own size (see
    rss.c), so it is not used.
    """
    rss_out = None
    if rss:
        fd, rss_out = tempfile.mkstemp(prefix="rss-")
        os.close(fd)
        argv = [RSS_TOOL, rss_out, *argv]
    fin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    fout = open(stdout_path, "wb") if stdout_path else subprocess.PIPE
    try:
        t0 = time.perf_counter_ns()
        p = subprocess.Popen(argv, stdin=fin, stdout=fout,
                             stderr=subprocess.STDOUT if not stdout_path else subprocess.PIPE,
                             cwd=cwd)
        stream = p.stdout if not stdout_path else p.stderr
        out = stream.read()
        _, status, ru = os.wait4(p.pid, 0)
        t1 = time.perf_counter_ns()
        stream.close()
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdin_path:
            fin.close()
        if stdout_path:
            fout.close()
    rss_kib = None
    if rss_out:
        with open(rss_out) as f:
            text = f.read().strip()
        os.unlink(rss_out)
        rss_kib = int(text) if text else None
    return Result(t1 - t0, p.returncode, rss_kib, out)


def run_many(jobs, parallel: int) -> tuple[int, list[Result]]:
    """Run jobs (callables returning Result) with `parallel` workers; wall ns."""
    results: list[Result | None] = [None] * len(jobs)
    lock = threading.Lock()
    it = iter(range(len(jobs)))

    def worker():
        while True:
            with lock:
                i = next(it, None)
            if i is None:
                return
            results[i] = jobs[i]()

    t0 = time.perf_counter_ns()
    threads = [threading.Thread(target=worker) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter_ns() - t0, results  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# The three programs
# ---------------------------------------------------------------------------

class Pipedesk:
    name = "pipedesk"

    def __init__(self, binary: str):
        self.bin = binary

    @staticmethod
    def config(db: str = "pipedesk.db") -> str:
        return (
            "# written by bench/run.py\n"
            "[site]\n"
            f'name = "{gen.SITE}"\n'
            f'domains = ["{gen.DOMAIN}"]\n'
            f'database = "{db}"\n\n'
            "[staff]\n"
            f"admins = {json.dumps(gen.ADMINS)}\n"
            f"members = {json.dumps(gen.MEMBERS)}\n\n"
            "[mail]\n"
            'transport = "none"\n\n'
            "[autoreply]\n"
            "enabled = true\n")

    def make(self, d: str) -> None:
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "pipedesk.toml"), "w") as f:
            f.write(self.config())

    def argv(self, d: str, m) -> list[str]:
        return [self.bin, "--config", os.path.join(d, "pipedesk.toml"), "deliver",
                "--recipient", m.pd_recipient, "--sender", m.sender]

    def cmd(self, d: str, *args: str) -> list[str]:
        return [self.bin, "--config", os.path.join(d, "pipedesk.toml"), *args]

    def deliver(self, d: str, m, path: str, rss: bool = False) -> Result:
        return run_one(self.argv(d, m), path, rss=rss)

    def ok(self, r: Result) -> bool:
        return r.rc == 0 and not r.out

    def count(self, d: str) -> tuple[int, int]:
        """(tickets, messages) as the program itself reports them."""
        r = subprocess.run(self.cmd(d, "list", "--json"), capture_output=True, check=True)
        tickets = json.loads(r.stdout)
        return len(tickets), sum(t.get("messages", 0) for t in tickets)


class PgServer:
    """A PostgreSQL cluster of the run's own, on 127.0.0.1 and a free port, with
    the server's default durability (fsync, synchronous commits): initdb and
    pg_ctl from Debian's /usr/lib/postgresql/*/bin, as the `postgres` user when
    we are root. Stopped and removed at the end of the run."""

    def __init__(self, root: str):
        import glob
        import pwd
        import socket
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(p.split("/")[-3]))
        if not bins:
            raise RuntimeError("no PostgreSQL server (apt-get install postgresql)")
        self.bin = os.path.dirname(bins[-1])
        self.root = root
        os.makedirs(root, exist_ok=True)
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            os.chown(root, pwd.getpwnam("postgres").pw_uid, -1)
        with socket.socket() as sk:
            sk.bind(("127.0.0.1", 0))
            self.port = sk.getsockname()[1]
        data = os.path.join(root, "data")
        subprocess.run(self.as_user + [os.path.join(self.bin, "initdb"), "-D", data, "-A", "trust",
                                       "-U", "postgres", "-E", "UTF8", "--locale=C"],
                       check=True, capture_output=True, cwd=root)
        opts = (f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root} "
                "-c max_connections=100 -c shared_buffers=256MB")
        subprocess.run(self.as_user + [os.path.join(self.bin, "pg_ctl"), "-D", data, "-l",
                                       os.path.join(root, "log"), "-o", opts, "-w", "start"],
                       check=True, capture_output=True, cwd=root)
        self.data = data
        with open(os.path.join(data, "postmaster.pid")) as f:
            OUR_DAEMONS.append(int(f.readline()))
        self.version = self.sql("postgres", "SHOW server_version").strip()

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def sql(self, db: str, statement: str) -> str:
        r = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-qAt", "-h", "127.0.0.1",
                            "-p", str(self.port), "-U", "postgres", "-d", db, "-c", statement],
                           capture_output=True, text=True, check=True)
        return r.stdout

    def stop(self) -> None:
        subprocess.run(self.as_user + [os.path.join(self.bin, "pg_ctl"), "-D", self.data,
                                       "-m", "fast", "-w", "stop"], capture_output=True, cwd=self.root)
        shutil.rmtree(self.root, ignore_errors=True)


class PgBouncer:
    """PgBouncer (Debian's) in session mode in front of the run's PostgreSQL,
    on 127.0.0.1 and a free port, as the postgres user when we are root (it
    will not run as root): what the README's "Many deliveries a second"
    sets up. Its CPU time is the run's (OUR_DAEMONS)."""

    def __init__(self, server: "PgServer"):
        import pwd
        import socket
        exe = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not os.path.exists(exe):
            raise RuntimeError("no pgbouncer (apt-get install pgbouncer)")
        self.root = server.root + "-pgbouncer"
        os.makedirs(self.root, exist_ok=True)
        with socket.socket() as sk:
            sk.bind(("127.0.0.1", 0))
            self.port = sk.getsockname()[1]
        with open(os.path.join(self.root, "users.txt"), "w") as f:
            f.write('"postgres" ""\n')
        with open(os.path.join(self.root, "pgbouncer.ini"), "w") as f:
            f.write(f"[databases]\n* = host=127.0.0.1 port={server.port}\n\n[pgbouncer]\n"
                    f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
                    f"auth_type = trust\nauth_file = {self.root}/users.txt\n"
                    "pool_mode = session\ndefault_pool_size = 20\nmax_client_conn = 200\n"
                    # Each run's database gets a pool of its own: let it go soon after.
                    "server_idle_timeout = 5\n"
                    f"logfile = {self.root}/log\npidfile = {self.root}/pid\n")
        as_user = server.as_user
        if as_user:
            uid = pwd.getpwnam("postgres").pw_uid
            for name in ("", "users.txt", "pgbouncer.ini"):
                os.chown(os.path.join(self.root, name), uid, -1)
        subprocess.run(as_user + [exe, "-d", os.path.join(self.root, "pgbouncer.ini")],
                       check=True, capture_output=True)
        for _ in range(100):
            if os.path.exists(os.path.join(self.root, "pid")):
                break
            time.sleep(0.05)
        with open(os.path.join(self.root, "pid")) as f:
            self.pid = int(f.read().strip())
        OUR_DAEMONS.append(self.pid)
        r = subprocess.run([exe, "--version"], capture_output=True, text=True)
        self.version = r.stdout.split("\n")[0].replace("PgBouncer ", "").strip()

    def stop(self) -> None:
        try:
            os.kill(self.pid, 15)
        except OSError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


class PipedeskPg(Pipedesk):
    """pipedesk on the run's PostgreSQL: each instance folder holds a config
    naming a database of its own (copied from the template's database, as the
    SQLite instances copy the template's file)."""
    name = "postgres"

    def __init__(self, binary: str, server: PgServer):
        super().__init__(binary)
        self.server = server

    @staticmethod
    def db_name(d: str) -> str:
        return "b_" + "".join(c if c.isalnum() else "_" for c in os.path.basename(d.rstrip("/")))

    def write_config(self, d: str, db: str) -> None:
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "pipedesk.toml"), "w") as f:
            f.write(self.config(self.server.url(db)))

    def make(self, d: str) -> None:
        db = self.db_name(d)
        self.server.sql("postgres", f"DROP DATABASE IF EXISTS {db}")
        self.server.sql("postgres", f"CREATE DATABASE {db}")
        self.write_config(d, db)

    def clone(self, template: str, d: str) -> None:
        db = self.db_name(d)
        self.server.sql("postgres", f"DROP DATABASE IF EXISTS {db}")
        self.server.sql("postgres", f"CREATE DATABASE {db} TEMPLATE {self.db_name(template)}")
        self.write_config(d, db)


class PipedeskPooled(PipedeskPg):
    """pipedesk on the run's PostgreSQL through PgBouncer: the same databases
    (copied from the same template), another URL."""
    name = "pgbouncer"

    def __init__(self, binary: str, server: PgServer, bouncer: PgBouncer):
        super().__init__(binary, server)
        self.bouncer = bouncer

    def write_config(self, d: str, db: str) -> None:
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "pipedesk.toml"), "w") as f:
            f.write(self.config(f"postgres://postgres@127.0.0.1:{self.bouncer.port}/{db}"))


class Roundup:
    name = "roundup"

    def __init__(self, venv: str):
        self.venv = venv

    @staticmethod
    def ensure_venv(cache: str) -> str:
        venv = os.path.join(cache, "roundup-venv")
        mailgw = os.path.join(venv, "bin", "roundup-mailgw")
        if not os.path.exists(mailgw):
            log("creating the Roundup venv (pip install roundup)")
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", venv], check=True)
            subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "roundup"], check=True)
        return venv

    def version(self) -> str:
        r = subprocess.run([os.path.join(self.venv, "bin", "python"), "-c",
                            "import roundup; print(roundup.__version__)"],
                           capture_output=True, text=True)
        return r.stdout.strip() or "?"

    def make(self, d: str) -> None:
        admin = os.path.join(self.venv, "bin", "roundup-admin")
        settings = ",".join([
            "tracker_web=http://localhost/bench/",
            f"mail_domain={gen.DOMAIN}",
            "mail_host=localhost",
            # Outgoing mail goes to this file (relative to the tracker) instead
            # of an SMTP server: Roundup still builds and writes every mail.
            "mail_debug=outgoing-mail.txt",
            # Like pipedesk's autoreply: the author gets a copy of the message.
            "nosy_messages_to_author=yes",
        ])
        subprocess.run([admin, "-i", d, "install", "classic", "sqlite", settings],
                       check=True, capture_output=True)
        schema = os.path.join(d, "schema.py")
        with open(schema) as f:
            text = f.read()
        line = "#db.security.addPermissionToRole('Anonymous', 'Email Access')"
        assert line in text, "Roundup's schema.py changed: cannot enable mail from new users"
        # Mail from unknown senders is refused until Anonymous may use email.
        with open(schema, "w") as f:
            f.write(text.replace(line, line[1:]))
        subprocess.run([admin, "-i", d, "initialise", "bench-admin-pw"], check=True,
                       capture_output=True)

    def argv(self, d: str, m=None) -> list[str]:
        return [os.path.join(self.venv, "bin", "roundup-mailgw"), d]

    def deliver(self, d: str, m, path: str, rss: bool = False) -> Result:
        return run_one(self.argv(d), path, rss=rss)

    def ok(self, r: Result) -> bool:
        # roundup-mailgw logs errors to stderr and usually exits 0 even when it
        # refused a message (it mails a bounce instead): counts tell the truth.
        return r.rc == 0

    def count(self, d: str) -> tuple[int, int]:
        import sqlite3
        c = sqlite3.connect(os.path.join(d, "db", "db"))
        try:
            return (c.execute("select count(*) from _issue").fetchone()[0],
                    c.execute("select count(*) from _msg").fetchone()[0])
        finally:
            c.close()


class Floor:
    name = "floor"

    def __init__(self, binary: str):
        self.bin = binary

    def make(self, d: str) -> None:
        os.makedirs(d, exist_ok=True)

    def deliver(self, d: str, m, path: str, rss: bool = False) -> Result:
        return run_one([self.bin], path, rss=rss)

    def ok(self, r: Result) -> bool:
        return r.rc == 0

    def count(self, d: str) -> tuple[int, int]:
        return (0, 0)


def build_tool(cache: str, name: str) -> str:
    """Compile bench/NAME.c into the cache (again when the source is newer)."""
    src = os.path.join(HERE, f"{name}.c")
    out = os.path.join(cache, name)
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        subprocess.run(["cc", "-O2", "-o", out, src], check=True)
    return out


# The run's own servers (PostgreSQL's postmaster): their CPU time is the run's,
# not other people's, though they are no children of ours (pg_ctl detaches).
OUR_DAEMONS: list[int] = []


def daemons_cpu() -> float:
    """CPU seconds of OUR_DAEMONS: each one's own and its reaped children's
    (PostgreSQL's backends, one per connection), and its live children's."""
    hz = os.sysconf("SC_CLK_TCK")

    def stat(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                text = f.read()
        except OSError:
            return None
        fields = text[text.rindex(")") + 2:].split()
        # after "pid (comm)": state ppid … utime(14) stime(15) cutime(16) cstime(17)
        return int(fields[1]), [int(x) for x in fields[11:15]]

    total = 0
    live = set(OUR_DAEMONS)
    for pid in OUR_DAEMONS:
        st = stat(pid)
        if st:
            total += sum(st[1])
    if live:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                st = stat(entry)
                if st and st[0] in live:
                    total += st[1][0] + st[1][1]
    return total / hz


def busy_fraction(secs: float = 1.0) -> float:
    """Share of the machine's CPU time spent outside idle over `secs`."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait
    t0, i0 = snap()
    time.sleep(secs)
    t1, i1 = snap()
    return 1 - (i1 - i0) / max(1, t1 - t0)


class OtherLoad:
    """How much CPU other processes used while a phase ran: all non-idle
    time on the machine minus what this process and its children used."""

    def __init__(self):
        self.t0 = self._machine()
        self.o0 = self._ours()

    @staticmethod
    def _machine():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        hz = os.sysconf("SC_CLK_TCK")
        return sum(v) / hz, (sum(v) - v[3] - v[4]) / hz  # total, busy (seconds, all CPUs)

    @staticmethod
    def _ours():
        import resource
        a = resource.getrusage(resource.RUSAGE_SELF)
        b = resource.getrusage(resource.RUSAGE_CHILDREN)
        return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime + daemons_cpu()

    def share(self) -> float:
        (t1, b1), o1 = self._machine(), self._ours()
        total, busy = t1 - self.t0[0], b1 - self.t0[1]
        return max(0.0, (busy - (o1 - self.o0)) / max(total, 1e-9))


QUIET = 0.55  # a block counts when others left at least one of the two cores free


class Blocks:
    """Time work in blocks and keep only blocks during which other processes
    left the machine quiet.

    This machine is shared: others' builds and fuzzers come and go. While
    they leave a core free, a sequential delivery loop is unaffected; once
    they take both, a process that blocks in fsync waits for a CPU every time
    it wakes up, so `deliver`'s time multiplies (measured: 5 ms -> 25-30 ms)
    while the floor, which never blocks, barely notices. Every block is
    delivered (the databases must see every message), but a block during
    which others used more than QUIET of the CPUs is left out of the
    statistics, and the harness waits for a quiet moment before going on.
    The report says how many blocks were kept."""

    def __init__(self, wait_s: float):
        self.kept = self.dropped = 0
        self.wait_s = wait_s
        self.shares: list[float] = []

    def run(self, fn) -> bool:
        load = OtherLoad()
        fn()
        share = load.share()
        self.shares.append(share)
        if share < QUIET:
            self.kept += 1
            return True
        self.dropped += 1
        wait_idle(self.wait_s, "the next block", quiet=True)
        return False

    def summary(self) -> dict:
        return {"kept": self.kept, "dropped": self.dropped,
                "median_other_share": median(self.shares) if self.shares else None}


def wait_idle(limit_s: float, what: str, quiet: bool = False) -> float:
    """Wait (up to limit_s) until other processes leave the CPUs mostly idle.

    Others' builds and tests on this machine would land in one program's
    numbers more than another's; waiting for a quiet moment beats noting it
    afterwards. Returns the busy share finally seen."""
    deadline = time.time() + limit_s
    busy = busy_fraction(0.5)
    if busy > QUIET and not quiet:
        log(f"  machine busy ({busy:.0%} CPU used by others); waiting up to {limit_s:.0f} s before {what}")
    while busy > QUIET and time.time() < deadline:
        busy = busy_fraction(1.0)
    return busy


# ---------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------

def median(xs):
    return statistics.median(xs) if xs else float("nan")


def p95(xs):
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[max(0, math.ceil(0.95 * len(s)) - 1)]


def ms(ns) -> float:
    return ns / 1e6


# ---------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------

class Bench:
    def __init__(self, a):
        self.a = a
        self.cache = os.path.abspath(a.cache)
        os.makedirs(self.cache, exist_ok=True)
        self.work = tempfile.mkdtemp(prefix="run-", dir=self.cache)
        self.res: dict = {"phases": {}}
        self.t_start = time.time()

    # ---- setup ----------------------------------------------------------

    def write_messages(self) -> None:
        a = self.a
        # Twice the latency sample: blocks spoilt by others' load do not count.
        n = max(2 * a.latency_n, a.throughput_n)
        base, mix = gen.build(a.seed, n)
        self.base, self.mix = base, mix
        for kind, msgs in (("base", base), ("mix", mix)):
            for m in msgs:
                for prog, data in (("pd", m.pd), ("rd", m.rd)):
                    d = os.path.join(self.work, "msgs", prog, kind)
                    os.makedirs(d, exist_ok=True)
                    p = os.path.join(d, f"{m.index:05d}.eml")
                    with open(p, "wb") as f:
                        f.write(data)
        sizes: dict[str, list[int]] = {}
        for m in mix:
            sizes.setdefault(m.kind, []).append(m.size)
        self.res["mix"] = {k: {"n": len(v), "median_bytes": median(v)} for k, v in sizes.items()}

    def path(self, prog: str, kind: str, m) -> str:
        tag = "rd" if prog == "roundup" else "pd"
        return os.path.join(self.work, "msgs", tag, kind, f"{m.index:05d}.eml")

    def make_template(self, prog, name: str) -> str:
        """A fresh instance holding the base tickets, copied for every run."""
        d = os.path.join(self.work, "templates", name)
        prog.make(d)
        for m in self.base:
            r = prog.deliver(d, m, self.path(prog.name, "base", m))
            if not prog.ok(r):
                raise SystemExit(f"{prog.name}: base message {m.index} failed "
                                 f"(exit {r.rc}): {r.out.decode(errors='replace')[:2000]}")
        tickets, msgs = prog.count(d)
        if prog.name != "floor" and (tickets, msgs) != (gen.BASE_TICKETS, len(self.base)):
            raise SystemExit(f"{prog.name}: base holds {tickets} tickets, {msgs} messages; "
                             f"expected {gen.BASE_TICKETS}, {len(self.base)}")
        return d

    def fresh(self, template: str, name: str, prog=None) -> str:
        d = os.path.join(self.work, "instances", name)
        shutil.rmtree(d, ignore_errors=True)
        if hasattr(prog, "clone"):
            prog.clone(template, d)
        else:
            shutil.copytree(template, d)
        return d

    def setup(self) -> None:
        a = self.a
        log(f"work dir {self.work}")
        global RSS_TOOL
        RSS_TOOL = build_tool(self.cache, "rss")
        self.floor = Floor(build_tool(self.cache, "floor"))
        # A snapshot of the binary: a rebuild during the run must not change
        # what is measured half way.
        snap = os.path.join(self.work, "pipedesk")
        shutil.copy2(a.bin, snap)
        self.res["pipedesk_version"] = subprocess.run([snap, "--version"], capture_output=True,
                                                      text=True).stdout.strip()
        self.pd = Pipedesk(snap)
        self.progs = [self.pd]
        self.write_messages()
        self.templates = {"pipedesk": self.make_template(self.pd, "pipedesk"),
                          "floor": os.path.join(self.work, "templates", "floor")}
        os.makedirs(self.templates["floor"], exist_ok=True)
        self.pg = self.pooled = None
        if not a.skip_postgres:
            log("starting PostgreSQL and delivering the base tickets into it")
            # Not under the run folder: mkdtemp makes it 0700, and the server
            # runs as the postgres user.
            self.server = PgServer(os.path.join(self.cache, f"postgres-{os.getpid()}"))
            self.res["postgres_version"] = self.server.version
            self.pg = PipedeskPg(snap, self.server)
            self.templates["postgres"] = self.make_template(self.pg, "postgres")
            self.progs.append(self.pg)
            # Only in the throughput phase: the pooler is for many deliverers.
            try:
                self.bouncer = PgBouncer(self.server)
            except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
                log(f"no \"through PgBouncer\" column: {e}")
            else:
                self.res["pgbouncer_version"] = self.bouncer.version
                self.pooled = PipedeskPooled(snap, self.server, self.bouncer)
                self.templates["pgbouncer"] = self.templates["postgres"]
        if not a.skip_roundup:
            self.rd = Roundup(Roundup.ensure_venv(self.cache))
            self.res["roundup_version"] = self.rd.version()
            log("creating the Roundup tracker and delivering the base tickets")
            self.templates["roundup"] = self.make_template(self.rd, "roundup")
            self.progs.append(self.rd)
        self.progs.append(self.floor)

    # ---- phase 1: per-message latency, interleaved -----------------------

    def latency(self) -> None:
        n = self.a.latency_n
        log(f"latency: {n} messages in quiet blocks, one process each, interleaved")
        dirs = {p.name: self.fresh(self.templates[p.name], f"lat-{p.name}", p) for p in self.progs}
        times: dict[str, dict[str, list[int]]] = {p.name: {} for p in self.progs}
        failures: dict[str, list] = {p.name: [] for p in self.progs}
        blocks = Blocks(self.a.idle_wait / 4)
        B = 5
        deadline = time.time() + self.a.phase_budget
        mix = []
        everything: list[tuple[str, str, int]] = []
        kept = 0
        for start in range(0, len(self.mix), B):
            if kept >= n or (time.time() > deadline and kept >= n // 3):
                break
            block = self.mix[start:start + B]
            got: list[tuple[str, str, int]] = []

            def work(block=block, got=got, start=start):
                for i, m in enumerate(block, start=start):
                    k = i % len(self.progs)
                    for prog in self.progs[k:] + self.progs[:k]:  # rotate who goes first
                        r = prog.deliver(dirs[prog.name], m, self.path(prog.name, "mix", m))
                        if not prog.ok(r):
                            failures[prog.name].append((m.index, r.rc, r.out.decode(errors="replace")[:300]))
                        got.append((prog.name, m.kind, r.ns))

            mix += block
            quiet = blocks.run(work)
            everything.extend(got)
            if quiet:
                kept += len(block)
                for name, kind, ns in got:
                    times[name].setdefault(kind, []).append(ns)
            if len(mix) % 50 == 0:
                log(f"  {len(mix)} delivered, {kept} in quiet blocks")
        self.res["latency_blocks"] = blocks.summary()
        if kept < n // 3:
            log(f"  only {kept} messages in quiet blocks: statistics from all {len(mix)}")
            self.res["latency_blocks"]["fallback"] = True
            times = {p.name: {} for p in self.progs}
            for name, kind, ns in everything:
                times[name].setdefault(kind, []).append(ns)
        counts = {p.name: p.count(dirs[p.name]) for p in self.progs if p.name != "floor"}
        out = {}
        for name, by_kind in times.items():
            allv = [x for v in by_kind.values() for x in v]
            out[name] = {
                "kinds": {k: {"n": len(v), "median_ms": ms(median(v)), "p95_ms": ms(p95(v))}
                          for k, v in by_kind.items()},
                "all": {"n": len(allv), "median_ms": ms(median(allv)), "p95_ms": ms(p95(allv))},
                "failures": failures[name][:5], "failed": len(failures[name]),
            }
            if name in counts:
                out[name]["stored"] = {"tickets": counts[name][0], "messages": counts[name][1],
                                       "expected_messages": len(self.base) + len(mix)}
        self.res["latency"] = out
        for name, v in out.items():
            log(f"  {name:9} median {v['all']['median_ms']:.2f} ms  p95 {v['all']['p95_ms']:.2f} ms"
                f"  failed {v['failed']}")

    # ---- phase 2: throughput with 1 and 4 deliverers ---------------------

    def throughput(self) -> None:
        a = self.a
        mix = self.mix[:a.throughput_n]
        levels = [1, a.parallel] + ([2 * a.parallel] if self.pg else [])
        log(f"throughput: {len(mix)} messages, {', '.join(map(str, levels))} deliverers")
        out: dict = {}
        for par in levels:
            runs: dict[str, list] = {p.name: [] for p in self.progs}
            # Cheap programs run once around each Roundup run, so each gets
            # the same machine state as the slow one: pd fl rd pd fl rd pd fl.
            # At 2 × 4 deliverers: SQLite with 8 on one file, PostgreSQL as two
            # hosts (two configs on one database) of 4 each; nothing else.
            progs = [p for p in self.progs if par <= a.parallel or p.name in ("pipedesk", "postgres")]
            if self.pooled:
                progs.insert(progs.index(self.pg) + 1, self.pooled)
                runs[self.pooled.name] = []
            rounds = a.roundup_reps if not a.skip_roundup and par <= a.parallel else 0
            seq = []
            for r in range(rounds + 1):
                seq += [p for p in progs if p.name != "roundup"]
                if r < rounds:
                    seq.append(self.rd)
            for j, prog in enumerate(seq):
                d = self.fresh(self.templates[prog.name], f"tp-{prog.name}-{par}-{j}", prog)
                for attempt in range(3):
                    # A run during which others were busy is done again (at
                    # most twice) on a fresh copy, after waiting for quiet.
                    wait_idle(self.a.idle_wait / 4, f"{par}x {prog.name}")
                    if attempt:
                        d = self.fresh(self.templates[prog.name], f"tp-{prog.name}-{par}-{j}", prog)
                    dirs = [d]
                    if par > a.parallel and prog.name in ("postgres", "pgbouncer"):
                        # The second host: its own folder and config, the same database.
                        d2 = d + "-host2"
                        prog.write_config(d2, prog.db_name(d))
                        dirs.append(d2)
                    jobs = [(lambda prog=prog, d=dirs[i % len(dirs)], m=m:
                             prog.deliver(d, m, self.path(prog.name, "mix", m)))
                            for i, m in enumerate(mix)]
                    load = OtherLoad()
                    wall, results = run_many(jobs, par)
                    share = load.share()
                    if share < QUIET:
                        break
                    log(f"  ({par}x {prog.name}: others used {share:.0%} of the CPUs; "
                        + ("again" if attempt < 2 else "kept anyway") + ")")
                failed = sum(1 for r in results if not prog.ok(r))
                tickets, stored = prog.count(d)
                runs[prog.name].append({
                    "wall_s": wall / 1e9, "msgs_per_s": len(mix) / (wall / 1e9),
                    "failed": failed, "stored": stored - len(self.base) if prog.name != "floor" else None,
                    "median_ms": ms(median([r.ns for r in results])), "other_share": share,
                })
                log(f"  {par}x {prog.name:9} {len(mix) / (wall / 1e9):8.1f} msg/s  "
                    f"failed {failed}  stored {runs[prog.name][-1]['stored']}")
                shutil.rmtree(d, ignore_errors=True)
            out[str(par)] = {
                name: {"runs": rs,
                       "msgs_per_s": median([r["msgs_per_s"] for r in rs]),
                       "lost": sum(len(mix) - r["stored"] for r in rs if r["stored"] is not None),
                       "failed": sum(r["failed"] for r in rs),
                       "offered": len(mix) * len(rs)}
                for name, rs in runs.items() if rs}
        self.res["throughput"] = out

    # ---- phase: pipedesk migrate into PostgreSQL --------------------------

    def migrate(self) -> None:
        """`pipedesk migrate --to postgres://…` of the seeded SQLite databases
        of the cost curve (100 000 tickets and up), into an empty database of
        the run's PostgreSQL; then a second run, which finds nothing to add."""
        if not self.pg:
            return
        a = self.a
        cfg_dir = os.path.join(self.work, "schema-probe")
        schema_sql = seed.probe_schema(self.pd, cfg_dir)
        key = seed.schema_key(schema_sql)
        out = {}
        for n in [n for n in a.scale_sizes if n >= 100_000]:
            cached = seed.ensure_seeded(self.pd, self.cache, key, n, schema_sql, log)
            d = os.path.join(self.work, "instances", f"migrate-{n}")
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            seed.copy_db(cached, os.path.join(d, "pipedesk.db"))
            with open(os.path.join(d, "pipedesk.toml"), "w") as f:
                f.write(Pipedesk.config())
            db = f"migrate_{n}"
            self.server.sql("postgres", f"DROP DATABASE IF EXISTS {db}")
            self.server.sql("postgres", f"CREATE DATABASE {db}")
            wait_idle(self.a.idle_wait / 4, f"migrate {n}")
            load = OtherLoad()
            r = run_one(self.pd.cmd(d, "migrate", "--to", self.server.url(db)), None)
            share = load.share()
            again = run_one(self.pd.cmd(d, "migrate", "--to", self.server.url(db)), None)
            rows = {t: int(self.server.sql(db, f"SELECT count(*) FROM {t}"))
                    for t in ("tickets", "messages", "history", "outbox")}
            out[str(n)] = {"s": r.ns / 1e9, "rc": r.rc, "out": r.out.decode(errors="replace")[-300:],
                           "rows": rows, "again_s": again.ns / 1e9, "again_rc": again.rc,
                           "again_out": again.out.decode(errors="replace")[-300:], "other_share": share}
            log(f"  migrate {n:,} tickets: {r.ns / 1e9:.1f} s (exit {r.rc}), "
                f"{sum(rows.values()):,} rows; again {again.ns / 1e9:.1f} s")
            self.server.sql("postgres", f"DROP DATABASE IF EXISTS {db}")
            shutil.rmtree(d, ignore_errors=True)
        self.res["migrate"] = out

    # ---- phase: where deliver's time goes -------------------------------

    def breakdown(self) -> None:
        """Peel deliver's time into layers, each timed interleaved like the rest:
        the floor; loading the binary (`--version`); parsing, config, opening
        the database and routing without committing (`--dry-run`); the real
        delivery; and the real delivery while another connection keeps the
        database open, so that deliver is not the last connection and SQLite
        neither checkpoints nor deletes the WAL when it exits."""
        import sqlite3
        n = self.a.breakdown_n
        log(f"breakdown: {n} new requests, layer by layer")
        g = gen.Generator(self.a.seed + 2000)
        g.base()
        # Twice as many as needed: blocks spoilt by others' load are not counted.
        msgs = [g.new_request(c) for c in gen.CUSTOMERS * (2 * n // len(gen.CUSTOMERS) + 1)][:2 * n]
        d_last = self.fresh(self.templates["pipedesk"], "bd-last")
        d_held = self.fresh(self.templates["pipedesk"], "bd-held")
        holder = sqlite3.connect(os.path.join(d_held, "pipedesk.db"))
        holder.execute("select count(*) from tickets").fetchone()
        layers = {
            "floor": lambda m, p: self.floor.deliver(d_last, m, p),
            "version": lambda m, p: run_one([self.pd.bin, "--version"], p),
            "dry-run": lambda m, p: run_one(self.pd.argv(d_last, m)[:4] + ["--dry-run"] + self.pd.argv(d_last, m)[4:], p),
            "deliver": lambda m, p: self.pd.deliver(d_last, m, p),
            "deliver-held": lambda m, p: self.pd.deliver(d_held, m, p),
        }
        times: dict[str, list[int]] = {k: [] for k in layers}
        bad = []
        names = list(layers)
        blocks = Blocks(self.a.idle_wait / 4)
        deadline = time.time() + self.a.phase_budget / 2
        B = 10
        kept = 0
        everything: list[tuple[str, int]] = []
        for start in range(0, len(msgs), B):
            if kept >= n or (time.time() > deadline and kept >= n // 3):
                break
            got = []

            def work(start=start, got=got):
                for i in range(start, min(start + B, len(msgs))):
                    m = msgs[i]
                    p = os.path.join(self.work, "msgs", f"bd-{i}.eml")
                    with open(p, "wb") as f:
                        f.write(m.pd)
                    k = i % len(names)
                    for name in names[k:] + names[:k]:
                        r = layers[name](m, p)
                        if r.rc != 0:
                            bad.append((name, r.rc, r.out.decode(errors="replace")[:200]))
                        got.append((name, r.ns))

            quiet = blocks.run(work)
            everything.extend(got)
            if quiet:
                kept += B
                for name, ns in got:
                    times[name].append(ns)
        holder.close()
        summary = blocks.summary()
        if kept < n // 3:
            summary["fallback"] = True
            times = {k: [] for k in layers}
            for name, ns in everything:
                times[name].append(ns)
            kept = len(everything) // len(layers)
        n = kept
        out = {"layers": {k: {"median_ms": ms(median(v)), "p95_ms": ms(p95(v))} for k, v in times.items()},
               "failed": bad[:3], "n": n, "blocks": summary}
        # What one delivery asks of the kernel, when strace is at hand.
        if shutil.which("strace"):
            m = g.new_request(gen.CUSTOMERS[0])
            p = os.path.join(self.work, "msgs", "bd-strace.eml")
            with open(p, "wb") as f:
                f.write(m.pd)
            trace = os.path.join(self.work, "strace.txt")
            run_one(["strace", "-f", "-c", "-o", trace] + self.pd.argv(d_last, m), p)
            calls = {}
            for line in open(trace):
                parts = line.split()
                if len(parts) >= 5 and parts[-1] in ("fsync", "fdatasync", "pwrite64", "pread64", "write",
                                                     "read", "openat", "unlink", "mmap", "execve"):
                    calls[parts[-1]] = int(parts[3])
            out["syscalls"] = calls
        if not self.a.skip_roundup:
            # For scale: what Roundup pays before it reads a message.
            py = os.path.join(self.rd.venv, "bin", "python")
            starts: dict[str, list[int]] = {"python": [], "mailgw-version": []}
            for _ in range(15):
                starts["python"].append(run_one([py, "-c", "pass"], None).ns)
                starts["mailgw-version"].append(run_one(self.rd.argv("")[:1] + ["--version"], None).ns)
            out["roundup_start_ms"] = {k: ms(median(v)) for k, v in starts.items()}
        self.res["breakdown"] = out
        for k, v in out["layers"].items():
            log(f"  {k:13} median {v['median_ms']:.2f} ms")

    # ---- phase 3: peak RSS -----------------------------------------------

    def rss(self) -> None:
        log("peak RSS: 1 MB and 50 MB messages")
        g = gen.Generator(self.a.seed + 1000)
        g.base()
        out = {}
        d = self.fresh(self.templates["pipedesk"], "rss-pipedesk")
        for size in (1_000_000, 50_000_000):
            rows = []
            for rep in range(self.a.rss_reps):
                m = g.big(size)
                p = os.path.join(self.work, "msgs", f"big-{size}-{rep}.eml")
                with open(p, "wb") as f:
                    f.write(m.pd)
                r = self.pd.deliver(d, m, p, rss=True)
                fl = self.floor.deliver(d, m, p, rss=True)
                rows.append({"bytes": m.size, "rss_kib": r.rss_kib, "ms": ms(r.ns), "ok": self.pd.ok(r),
                             "out": r.out.decode(errors="replace")[:300],
                             "floor_rss_kib": fl.rss_kib, "floor_ms": ms(fl.ns)})
                if size < 10_000_000 and not self.a.skip_roundup and rep == 0:
                    rd_dir = self.fresh(self.templates["roundup"], "rss-roundup")
                    with open(p[:-4] + ".rd.eml", "wb") as f:
                        f.write(m.rd)
                    rr = self.rd.deliver(rd_dir, m, p[:-4] + ".rd.eml", rss=True)
                    rows[-1]["roundup_rss_kib"] = rr.rss_kib
                    rows[-1]["roundup_ms"] = ms(rr.ns)
                os.unlink(p)
            top = max(rows, key=lambda r: r["rss_kib"])
            out[str(size)] = {"runs": rows, "bytes": top["bytes"], "nominal": f"{size // 1_000_000} MB",
                              "peak_rss_kib": top["rss_kib"],
                              "limit_kib": (3 * top["bytes"] + 20 * MiB) / 1024,
                              "all_ok": all(r["ok"] for r in rows)}
            log(f"  {size / 1e6:.0f} MB: peak RSS {top['rss_kib'] / 1024:.1f} MiB, "
                f"{median([r['ms'] for r in rows]):.1f} ms, ok={out[str(size)]['all_ok']}")
        self.res["rss"] = out

    # ---- phase 4: the cost curve -----------------------------------------

    def scale(self) -> None:
        a = self.a
        sizes = a.scale_sizes
        out: dict = {"sizes": {}}
        cfg_dir = os.path.join(self.work, "schema-probe")
        schema_sql = seed.probe_schema(self.pd, cfg_dir)
        key = seed.schema_key(schema_sql)
        mix = [m for m in self.mix if m.kind in ("new", "reply", "staff-reply")]
        for n in sizes:
            cached = seed.ensure_seeded(self.pd, self.cache, key, n, schema_sql, log)
            d = os.path.join(self.work, "instances", f"scale-{n}")
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            log(f"  copying the {n:,}-ticket database")
            seed.copy_db(cached, os.path.join(d, "pipedesk.db"))
            with open(os.path.join(d, "pipedesk.toml"), "w") as f:
                f.write(Pipedesk.config())
            # Warm up as a running system is warm: page cache, first WAL.
            subprocess.run(self.pd.cmd(d, "show", "1"), capture_output=True)
            for m in self.base[:3]:
                self.pd.deliver(d, m, self.path("pipedesk", "base", m))
            times: dict[str, list[int]] = {}
            failed = []
            blocks = Blocks(self.a.idle_wait / 4)
            deadline = time.time() + self.a.phase_budget / 4
            kept = 0
            B = 10
            everything: list[tuple[str, int]] = []
            # Replies name base-ticket numbers; at scale they go to the seeded
            # tickets with the same numbers (they exist).
            for start in range(0, len(mix), B):
                if kept >= a.scale_n or (time.time() > deadline and kept >= a.scale_n // 3):
                    break
                got = []

                def work(start=start, got=got):
                    for m in mix[start:start + B]:
                        r = self.pd.deliver(d, m, self.path("pipedesk", "mix", m))
                        if not self.pd.ok(r):
                            failed.append((m.index, r.rc, r.out.decode(errors="replace")[:300]))
                        got.append(("new" if m.kind == "new" else "reply", r.ns))

                quiet = blocks.run(work)
                everything.extend(got)
                if quiet:
                    kept += len(mix[start:start + B])
                    for kind, ns in got:
                        times.setdefault(kind, []).append(ns)
            summary = blocks.summary()
            if kept < a.scale_n // 3:
                summary["fallback"] = True
                times = {}
                for kind, ns in everything:
                    times.setdefault(kind, []).append(ns)
            allv = [x for v in times.values() for x in v]
            row = {"deliver_median_ms": ms(median(allv)), "deliver_p95_ms": ms(p95(allv)),
                   "new_median_ms": ms(median(times.get("new", []))),
                   "reply_median_ms": ms(median(times.get("reply", []))),
                   "n": len(allv), "failed": len(failed), "failures": failed[:3],
                   "blocks": summary}
            log(f"  {n:>9} tickets: deliver median {row['deliver_median_ms']:.2f} ms "
                f"p95 {row['deliver_p95_ms']:.2f} ms failed {len(failed)}")
            if n == max(sizes):
                row["queries"] = self.queries(d, n)
            out["sizes"][str(n)] = row
            shutil.rmtree(d, ignore_errors=True)
        self.res["scale"] = out

    def queries(self, d: str, n: int) -> dict:
        reps = self.a.query_reps
        outfile = os.path.join(self.work, "query-out.txt")
        cmds = {
            "list": ["list"],
            "list --limit 50": ["list", "--limit", "50"],
            "list --status open": ["list", "--status", "open"],
            f"show {n // 2}": ["show", str(n // 2)],
            f"show {n // 2} --json": ["show", str(n // 2), "--json"],
        }
        what = {"list": "every ticket", "list --limit 50": "the first screenful",
                "list --status open": "~11% of tickets", f"show {n // 2}": "a ticket and its history",
                f"show {n // 2} --json": "the same as JSON"}
        for words, description in seed.SEARCHES:
            label = "search " + " ".join(words)
            cmds[label] = ["search", *words]
            what[label] = description
        out = {}
        for label, args in cmds.items():
            wait_idle(self.a.idle_wait / 8, label, quiet=True)
            ts, rc, size = [], None, 0
            for _ in range(reps):
                r = run_one(self.pd.cmd(d, *args), None, stdout_path=outfile, rss=True)
                ts.append(r.ns)
                rc = r.rc
                size = os.path.getsize(outfile)
                lines = sum(1 for _ in open(outfile, "rb"))
            out[label] = {"median_ms": ms(median(ts)), "p95_ms": ms(p95(ts)), "rc": rc, "what": what.get(label, ""),
                          "out_bytes": size, "out_lines": lines, "rss_kib": r.rss_kib}
            log(f"  {label:28} {ms(median(ts)):9.1f} ms  exit {rc}  {lines} lines")
        return out

    # ---- phase 5: the web, bench/web.py ------------------------------------

    def web(self) -> None:
        self.res["web"] = web.run(self.pd.bin, self.cache, quick=self.a.quick, build="release build")

    # ---- report ----------------------------------------------------------

    def finish(self) -> None:
        if getattr(self, "bouncer", None):
            self.bouncer.stop()
        if getattr(self, "server", None):
            self.server.stop()
        self.res["elapsed_s"] = time.time() - self.t_start
        self.res["args"] = vars(self.a)
        self.res["machine"] = machine()
        self.res["pipedesk_rev"] = git_rev()
        path = os.path.join(self.cache, "last-results.json")
        with open(path, "w") as f:
            json.dump(self.res, f, indent=1, default=str)
        log(f"raw results: {path}")
        if not self.a.keep:
            shutil.rmtree(self.work, ignore_errors=True)


# ---------------------------------------------------------------------------
# Machine facts and the report
# ---------------------------------------------------------------------------

def machine() -> dict:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    fs = "?"
    try:
        r = subprocess.run(["df", "-T", tempfile.gettempdir()], capture_output=True, text=True)
        fs = r.stdout.splitlines()[1].split()[1]
    except Exception:
        pass
    return {"uname": " ".join(platform.uname()), "cpu": cpu, "cores": os.cpu_count(),
            "memory": mem, "python": platform.python_version(), "fs": fs,
            "loadavg": os.getloadavg()}


def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "src", "Cargo.toml"],
                               capture_output=True, text=True).stdout.strip()
        return (rev or "no commit") + (" + uncommitted changes" if dirty else "")
    except OSError:
        return "?"


def fmt(x, nd=2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.{nd}f}"


def mark(ok) -> str:
    return "—" if ok is None else ("✓" if ok else "✗")


KIND_LABELS = {
    "new": "new request, ~2 KB, known sender",
    "new-unknown": "new request, ~2 KB, first-time sender",
    "reply": "tagged reply from the requestor",
    "staff-reply": "tagged reply from staff",
    "alternative": "multipart/alternative (text + HTML)",
    "charset": "non-UTF-8 charset (Latin-1, KOI8-R, Shift_JIS, …)",
    "attachment": "100 KB PDF attachment",
}


def report(res: dict, command: str) -> str:
    m = res["machine"]
    L = []
    w = L.append
    w("# Benchmarks\n")
    w("Generated by `bench/run.py` (see [bench/README.md](bench/README.md)); "
      "numbers are measured on the machine below, not asserted.\n")
    w(f"- **Date:** {res['date']}")
    w(f"- **Command:** `{command}` ({res['elapsed_s'] / 60:.1f} minutes)")
    w(f"- **Machine:** `{m['uname']}`")
    w(f"- **CPU:** {m['cpu']}, {m['cores']} cores; {m['memory']} RAM; database on {m['fs']}; "
      f"load average at the end {', '.join(f'{x:.2f}' for x in m['loadavg'])}")
    w(f"- **pipedesk:** {res.get('pipedesk_version', '')} at `{res['pipedesk_rev']}`, release build, default durability "
      "(SQLite synchronous commits); `[mail] transport = \"none\"`, autoreplies on")
    if res.get("postgres_version"):
        w(f"- **PostgreSQL:** {res['postgres_version']} (Debian's), a cluster of the run's own on 127.0.0.1 "
          "(TCP loopback; the connection is part of every `deliver`), default durability (fsync, "
          "synchronous commits), `shared_buffers = 256MB`"
          + (f"; PgBouncer {res['pgbouncer_version']} (Debian's) in session mode in front of it for the "
             "\"through PgBouncer\" column" if res.get("pgbouncer_version") else ""))
    if res.get("roundup_version"):
        w(f"- **Roundup:** {res['roundup_version']} from PyPI, classic template, sqlite backend, "
          "outgoing mail written to a file (`[mail] debug`), `messages_to_author = yes`")
    if res.get("other_load"):
        w("- **Other load:** share of the CPUs that other processes on the machine used during each "
          "phase (the harness waits for a quiet moment before each): "
          + ", ".join(f"{k} {v:.0%}" for k, v in res["other_load"].items()))
    w(f"- **Seed:** {res['args']['seed']}; every process gets its message on stdin from a file, "
      "timed from spawn to reap (`time.perf_counter_ns`, `os.wait4`)\n")

    checks = targets(res)
    w("## Targets\n")
    w("| target | measured | |")
    w("| --- | --- | --- |")
    for name, measured, ok in checks:
        w(f"| {name} | {measured} | {mark(ok)} |")
    w("")

    lat = res.get("latency")
    if lat:
        n = lat["pipedesk"]["all"]["n"]
        w("## Time per message, one process per message\n")
        lb = res.get("latency_blocks", {})
        w(f"Messages delivered one after another; for each message the programs take turns "
          "(who goes first rotates), so machine noise hits all alike. Milliseconds. "
          + blocks_note(lb, 5) + "\n")
        has_rd = "roundup" in lat
        has_pg = "postgres" in lat
        hdr = "| message | n | size | pipedesk median | p95 |"
        sep = "| --- | ---: | ---: | ---: | ---: |"
        if has_pg:
            hdr += " on PostgreSQL median | p95 | PostgreSQL : SQLite |"
            sep += " ---: | ---: | ---: |"
        if has_rd:
            hdr += " roundup median | p95 | roundup : pipedesk |"
            sep += " ---: | ---: | ---: |"
        hdr += " floor median | pipedesk − floor |"
        sep += " ---: | ---: |"
        w(hdr)
        w(sep)
        kinds = [k for k in KIND_LABELS if k in lat["pipedesk"]["kinds"]]
        for k in kinds + ["all"]:
            pdk = lat["pipedesk"]["kinds"].get(k) if k != "all" else lat["pipedesk"]["all"]
            fl = lat["floor"]["kinds"].get(k) if k != "all" else lat["floor"]["all"]
            size = res["mix"].get(k, {}).get("median_bytes") if k != "all" else None
            label = KIND_LABELS.get(k, "**whole mix**")
            row = f"| {label} | {pdk['n']} | {fmt_bytes(size)} | {fmt(pdk['median_ms'])} | {fmt(pdk['p95_ms'])} |"
            if has_pg:
                pk = lat["postgres"]["kinds"].get(k) if k != "all" else lat["postgres"]["all"]
                row += f" {fmt(pk['median_ms'])} | {fmt(pk['p95_ms'])} | {fmt(pk['median_ms'] / pdk['median_ms'])}× |"
            if has_rd:
                rk = lat["roundup"]["kinds"].get(k) if k != "all" else lat["roundup"]["all"]
                row += f" {fmt(rk['median_ms'], 1)} | {fmt(rk['p95_ms'], 1)} | {fmt(rk['median_ms'] / pdk['median_ms'], 0)}× |"
            row += f" {fmt(fl['median_ms'])} | {fmt(pdk['median_ms'] - fl['median_ms'])} |"
            w(row)
        w("")
        for name, v in lat.items():
            if v.get("stored"):
                s = v["stored"]
                w(f"- {name}: stored {s['messages']} of {s['expected_messages']} messages "
                  f"({s['tickets']} tickets); {v['failed']} deliveries failed"
                  + (f" — first: `{v['failures'][0]}`" if v["failures"] else ""))
        w("")

    bd = res.get("breakdown")
    if bd:
        L_ = bd["layers"]
        w("## Where `deliver`'s time goes\n")
        w(f"{bd['n']} more ~2 KB new requests; each layer is its own process, timed interleaved like "
          "the rest. Each row adds one layer to the one above it. Milliseconds. "
          + blocks_note(bd.get("blocks", {}), 10) + "\n")
        w("| layer | median | p95 | adds |")
        w("| --- | ---: | ---: | ---: |")
        rows = [("floor: fork, exec, read stdin", "floor", None),
                ("`pipedesk --version`: load the binary", "version", "floor"),
                ("`deliver --dry-run`: config, parse, open the database, route (rolled back)", "dry-run", "version"),
                ("`deliver`: the transaction and its commit, then close", "deliver", "dry-run"),
                ("`deliver` while another connection holds the database open (no checkpoint or WAL "
                 "removal at exit)", "deliver-held", "dry-run")]
        for label, k, prev in rows:
            add = f"+{L_[k]['median_ms'] - L_[prev]['median_ms']:.2f}" if prev else ""
            w(f"| {label} | {fmt(L_[k]['median_ms'])} | {fmt(L_[k]['p95_ms'])} | {add} |")
        w("")
        if bd.get("roundup_start_ms"):
            rs = bd["roundup_start_ms"]
            w(f"For scale, Roundup's side: starting its Python (`python -c pass`) takes "
              f"{rs['python']:.1f} ms and `roundup-mailgw --version` (interpreter and imports, no "
              f"tracker, no message) {rs['mailgw-version']:.1f} ms.\n")
        if bd.get("syscalls"):
            w("System calls of one `deliver` (strace -c): "
              + ", ".join(f"{v} × {k}" for k, v in sorted(bd["syscalls"].items())) + ".\n")

    tp = res.get("throughput")
    if tp:
        w("## Throughput\n")
        n = tp["1"]["pipedesk"]["runs"][0]
        w("The same messages, one process per message, delivered by 1 and by "
          f"{res['args']['parallel']} parallel deliverers into a fresh instance holding the base "
          "tickets; messages per second (median over runs). \"Lost\" is what the program's own "
          "database lacks afterwards, over all runs: a message lost by a delivery that exited 0 is "
          "one the MTA will never retry. The last row, where there is one: "
          f"{2 * res['args']['parallel']} deliverers, on PostgreSQL as two hosts (two configurations "
          f"on one database, {res['args']['parallel']} deliverers each, every other message to each), "
          "on SQLite all on the one file.\n")
        pooled = any("pgbouncer" in v for v in tp.values())
        if pooled:
            w("\"Through PgBouncer\": the same PostgreSQL databases reached through PgBouncer in session "
              "mode (README, \"Many deliveries a second\"): each `deliver` still makes a connection, to "
              "the pooler, which hands it a server session that is already open.\n")
        w("| deliverers | pipedesk msg/s | on PostgreSQL msg/s | "
          + ("through PgBouncer msg/s | " if pooled else "")
          + "roundup msg/s | pipedesk : roundup | floor msg/s | "
          "pipedesk lost | on PostgreSQL lost | " + ("through PgBouncer lost | " if pooled else "")
          + "roundup lost |")
        w("| ---: | ---: | ---: | " + ("---: | " if pooled else "") + "---: | ---: | ---: | ---: | ---: | "
          + ("---: | " if pooled else "") + "---: |")
        for par, v in tp.items():
            pdv, rdv, flv = v.get("pipedesk"), v.get("roundup"), v.get("floor")
            pgv, pbv = v.get("postgres"), v.get("pgbouncer")
            label = par if int(par) <= res["args"]["parallel"] else f"{par} (PostgreSQL: 2 × {int(par) // 2})"
            ratio = pdv["msgs_per_s"] / rdv["msgs_per_s"] if rdv else None
            def lost(v):
                if not v:
                    return "—"
                text = f"{v['lost']} of {v['offered']}"
                if v["lost"]:
                    text += f" ({v.get('failed', 0)} deliveries exited non-zero)"
                return text
            w(f"| {label} | {fmt(pdv['msgs_per_s'], 0)} | {fmt(pgv['msgs_per_s'], 0) if pgv else '—'} | "
              + (f"{fmt(pbv['msgs_per_s'], 0) if pbv else '—'} | " if pooled else "")
              + f"{fmt(rdv['msgs_per_s'], 1) if rdv else '—'} | "
              f"{fmt(ratio, 0) + '×' if ratio else '—'} | {fmt(flv['msgs_per_s'], 0) if flv else '—'} | "
              f"{lost(pdv)} | {lost(pgv)} | " + (f"{lost(pbv)} | " if pooled else "") + f"{lost(rdv)} |")
        shares = [r.get("other_share") for v in tp.values() for rs in v.values() for r in rs["runs"]
                  if r.get("other_share") is not None]
        if shares:
            w(f"\nA run during which other processes used more than {QUIET:.0%} of the CPUs was done again "
              f"(twice at most); in the runs kept they used {min(shares):.0%}–{max(shares):.0%}.")
        w("")

    rss = res.get("rss")
    if rss:
        w("## Peak memory of `deliver`\n")
        w("A new request whose PDF attachment brings the message to the size shown; "
          "peak RSS is the process's `ru_maxrss`, taken by bench/rss.c (it adds ~1 MiB of its own at most; the floor column shows that baseline).\n")
        w("| message | pipedesk peak RSS | limit 3 × size + 20 MiB | | deliver time | floor RSS | roundup RSS / time |")
        w("| ---: | ---: | ---: | --- | ---: | ---: | ---: |")
        for size, v in rss.items():
            r0 = v["runs"][0]
            rd = (f"{r0['roundup_rss_kib'] / 1024:.1f} MiB / {r0['roundup_ms']:.0f} ms"
                  if "roundup_rss_kib" in r0 else "—")
            w(f"| {v.get('nominal', fmt_bytes(v['bytes']))} ({v['bytes']:,} bytes) | {v['peak_rss_kib'] / 1024:.1f} MiB | "
              f"{v['limit_kib'] / 1024:.1f} MiB | {mark(v['peak_rss_kib'] <= v['limit_kib'] and v['all_ok'])} | "
              f"{median([r['ms'] for r in v['runs']]):.1f} ms | {r0['floor_rss_kib'] / 1024:.1f} MiB | {rd} |")
        bad = [r for v in rss.values() for r in v["runs"] if not r["ok"]]
        if bad:
            w(f"\nDeliveries that failed: {len(bad)}, first: `{bad[0]['out']}`")
        w("")

    sc = res.get("scale")
    if sc:
        w("## Cost curve\n")
        w("`deliver` into databases already holding N tickets (seeded in bulk by bench/seed.py: one "
          "requestor message per ticket and a reply on every fifth, raw bytes, history and "
          "full-text index as a delivery writes them). New requests and tagged replies; milliseconds.\n")
        w("| tickets | deliver median | p95 | new request | reply | counted | failed |")
        w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n, v in sc["sizes"].items():
            b = v.get("blocks", {})
            w(f"| {int(n):,} | {fmt(v['deliver_median_ms'])} | {fmt(v['deliver_p95_ms'])} | "
              f"{fmt(v['new_median_ms'])} | {fmt(v['reply_median_ms'])} | "
              f"{v['n']} ({'all, never quiet' if b.get('fallback') else str(b.get('kept', '?')) + ' of ' + str(b.get('kept', 0) + b.get('dropped', 0)) + ' blocks'}) | {v['failed']} |")
        w("\nA block of 10 deliveries during which other processes used more than "
          f"{QUIET:.0%} of the CPUs was delivered but not counted.")
        w("")
        top = max(sc["sizes"], key=int)
        q = sc["sizes"][top].get("queries")
        if q:
            w(f"Commands for people at {int(top):,} tickets (output to a file; median of "
              f"{res['args']['query_reps']} runs):\n")
            w("| command | | median | p95 | output lines | exit | peak RSS |")
            w("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
            for label, v in q.items():
                w(f"| `pipedesk {label}` | {v.get('what', '')} | {fmt(v['median_ms'], 1)} ms | "
                  f"{fmt(v['p95_ms'], 1)} ms | {v['out_lines']:,} | {v['rc']} | {v['rss_kib'] / 1024:.0f} MiB |")
            w("")
        fails = [(n, v["failures"]) for n, v in sc["sizes"].items() if v["failures"]]
        if fails:
            w(f"Failed deliveries at scale, first: `{fails[0]}`\n")

    mg = res.get("migrate")
    if mg:
        w("## `pipedesk migrate` into PostgreSQL\n")
        w("The seeded SQLite databases of the cost curve copied by `pipedesk migrate --to "
          "postgres://…` into an empty database of the run's PostgreSQL (same machine, loopback), "
          "then `migrate` run again (it finds nothing to add).\n")
        w("| tickets | rows copied | time | rows/s | exit | second run | exit |")
        w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n, v in mg.items():
            rows = sum(v["rows"].values())
            w(f"| {int(n):,} | {rows:,} | {v['s']:.1f} s | {rows / v['s']:,.0f} | {v['rc']} | "
              f"{v['again_s']:.1f} s | {v['again_rc']} |")
        w("")

    if res.get("web"):
        w(web.report(res["web"]))

    if res.get("notes"):
        w("## Notes\n")
        for note in res["notes"]:
            w(f"- {note}")
        w("")
    return "\n".join(L) + "\n"


def blocks_note(b: dict, size: int) -> str:
    if not b:
        return ""
    total = b["kept"] + b["dropped"]
    if b.get("fallback"):
        return (f"**The machine was never quiet** (only {b['kept']} of {total} blocks of {size} had other "
                f"processes under {QUIET:.0%} of the CPUs; median {b['median_other_share']:.0%}): statistics "
                "from all blocks, inflated by others' load.")
    return (f"Statistics from {b['kept']} of {total} blocks of {size} messages: a block during which "
            f"other processes on this shared machine used more than {QUIET:.0%} of the CPUs was delivered "
            "but not counted (see bench/README.md).")


def fmt_bytes(b) -> str:
    if b is None:
        return ""
    if b >= 1_000_000:
        return f"{b / 1e6:.0f} MB"
    if b >= 10_000:
        return f"{b / 1000:.0f} KB"
    return f"{b / 1000:.1f} KB"


def targets(res: dict) -> list[tuple[str, str, bool | None]]:
    out = []
    lat = res.get("latency")
    if lat:
        pd_new = lat["pipedesk"]["kinds"].get("new", {}).get("median_ms")
        fl_new = lat["floor"]["kinds"].get("new", {}).get("median_ms")
        out.append(("median `deliver` of a ~2 KB new request ≤ 5 ms", f"{fmt(pd_new)} ms",
                    pd_new is not None and pd_new <= 5))
        out.append(("… within 3 ms of the floor", f"{fmt(pd_new - fl_new)} ms above the floor "
                    f"({fmt(fl_new)} ms)", pd_new - fl_new <= 3))
        if "roundup" in lat:
            rd_all = lat["roundup"]["all"]["median_ms"] / lat["pipedesk"]["all"]["median_ms"]
            out.append(("≥ 50× faster than roundup-mailgw (median, whole mix)", f"{rd_all:.0f}×", rd_all >= 50))
            rk = lat["roundup"]["kinds"].get("new")
            if rk and pd_new:
                r = rk["median_ms"] / pd_new
                out.append(("≥ 50× faster than roundup-mailgw (new request, known sender)", f"{r:.0f}×", r >= 50))
    if lat and "postgres" in lat:
        pg_all = lat["postgres"]["all"]["median_ms"]
        pd_all = lat["pipedesk"]["all"]["median_ms"]
        out.append(("median `deliver` on PostgreSQL (loopback, connection included) ≤ 3 × SQLite's (whole mix)",
                    f"{fmt(pg_all)} ms vs {fmt(pd_all)} ms ({pg_all / pd_all:.2f}×)", pg_all <= 3 * pd_all))
        if "roundup" in lat:
            r = lat["roundup"]["all"]["median_ms"] / pg_all
            out.append(("… and ≥ 15× faster than roundup-mailgw (median, whole mix)", f"{r:.0f}×", r >= 15))
    tp = res.get("throughput")
    if tp:
        top = max(tp, key=int)
        if int(top) > res["args"]["parallel"] and "postgres" in tp[top]:
            pg = tp[top]["postgres"]["msgs_per_s"]
            best = max(v["pipedesk"]["msgs_per_s"] for v in tp.values() if "pipedesk" in v)
            out.append((f"{top} deliverers on PostgreSQL (2 × {int(top) // 2}, two hosts) ≥ SQLite's throughput "
                        "(its best, any number of deliverers)",
                        f"{fmt(pg, 0)} vs {fmt(best, 0)} msg/s", pg >= best))
            if "pgbouncer" in tp[top]:
                pb = tp[top]["pgbouncer"]["msgs_per_s"]
                out.append((f"… through PgBouncer (2 × {int(top) // 2}, two hosts, one pooler) ≥ SQLite's throughput",
                            f"{fmt(pb, 0)} vs {fmt(best, 0)} msg/s", pb >= best))
        for par, v in tp.items():
            if "roundup" in v:
                r = v["pipedesk"]["msgs_per_s"] / v["roundup"]["msgs_per_s"]
                out.append((f"≥ 50× roundup-mailgw's throughput, {par} deliverer{'s' if par != '1' else ''}",
                            f"{r:.0f}×", r >= 50))
    rss = res.get("rss")
    if rss:
        for size, v in rss.items():
            out.append((f"peak RSS of `deliver` for a {v.get('nominal', fmt_bytes(v['bytes']))} message ≤ 3 × size + 20 MiB",
                        f"{v['peak_rss_kib'] / 1024:.1f} MiB (limit {v['limit_kib'] / 1024:.1f} MiB)"
                        + ("" if v["all_ok"] else ", delivery failed"),
                        v["peak_rss_kib"] <= v["limit_kib"] and v["all_ok"]))
    sc = res.get("scale")
    if sc:
        sizes = sc["sizes"]
        lo, hi = min(sizes, key=int), max(sizes, key=int)
        if lo != hi:
            a, b = sizes[lo]["deliver_median_ms"], sizes[hi]["deliver_median_ms"]
            out.append((f"`deliver` at {int(hi):,} tickets ≤ 1.5 × at {int(lo):,}",
                        f"{fmt(b)} ms vs {fmt(a)} ms ({b / a:.2f}×)", b <= 1.5 * a))
        q = sizes[hi].get("queries") or {}
        for label, v in q.items():
            if label.startswith("search"):
                out.append((f"`{label}` ({v.get('what', '')}) at {int(hi):,} tickets < 100 ms",
                            f"{fmt(v['median_ms'], 1)} ms" + ("" if v["rc"] == 0 else f" (exit {v['rc']})"),
                            v["median_ms"] < 100 and v["rc"] == 0))
    if res.get("web"):
        out += web.targets(res["web"])
    return out


# The section that bench/ab.py writes, and the one it goes before: a run of
# this harness keeps it as it was.
AB_SECTION = ("## deliver against an earlier build", "## Where `deliver`'s time goes")


def write_report(res: dict, command: str, path: str) -> None:
    old = open(path).read() if os.path.exists(path) else ""
    text = report(res, command)
    # The hand-written history of profiles and fixes goes under every run.
    history = os.path.join(os.path.dirname(os.path.abspath(__file__)), "HISTORY.md")
    if os.path.exists(history):
        with open(history) as h:
            text = text.rstrip("\n") + "\n\n" + h.read()
    with open(path, "w") as f:
        f.write(text)
    log(f"wrote {path}")
    # bench/ab.py's sections ("## deliver against an earlier build", "##
    # deliver with ten rules against …") are kept: this run does not redo them.
    _, before = AB_SECTION
    for kept in re.finditer(r"^## deliver .*?\n.*?(?=^## |\Z)", old, flags=re.S | re.M):
        heading = kept.group(0).split("\n", 1)[0]
        web.write_section(path, kept.group(0), heading=heading, before=before)


# ---------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--quick", action="store_true", help="a short run (~3 minutes): fewer messages, "
                    "cost curve at 1 000 and 100 000 tickets")
    ap.add_argument("--skip-roundup", action="store_true", help="pipedesk and the floor only")
    ap.add_argument("--skip-postgres", action="store_true", help="no PostgreSQL column")
    ap.add_argument("--skip-scale", action="store_true", help="no seeded databases, no cost curve")
    ap.add_argument("--only", choices=["latency", "breakdown", "throughput", "rss", "scale", "migrate", "web"],
                    action="append",
                    help="run only these phases (repeatable)")
    ap.add_argument("--bin", help="the pipedesk binary (default: build target/release/pipedesk)")
    ap.add_argument("--cache", default=os.environ.get("PIPEDESK_BENCH_CACHE",
                                                      os.path.join(tempfile.gettempdir(), "pipedesk-bench")),
                    help="venv, seeded databases and runs live here (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(REPO, "BENCHMARKS.md"),
                    help="report to write (default: BENCHMARKS.md at the repo root)")
    ap.add_argument("--no-report", action="store_true", help="print the report, do not write it")
    ap.add_argument("--report-from", metavar="JSON", help="only rewrite the report from saved raw results")
    ap.add_argument("--keep", action="store_true", help="keep the run's work folder")
    ap.add_argument("--idle-wait", type=float, default=120, metavar="SECS",
                    help="before each phase, wait up to this long for other processes to go quiet "
                    "(default: %(default)s)")
    a = ap.parse_args()

    a.parallel = 4
    if a.quick:
        a.latency_n, a.throughput_n, a.roundup_reps, a.phase_budget = 80, 50, 1, 90
        a.rss_reps, a.scale_n, a.query_reps, a.breakdown_n = 2, 30, 3, 40
        a.scale_sizes = [1_000, 100_000]
    else:
        a.latency_n, a.throughput_n, a.roundup_reps, a.phase_budget = 500, 300, 3, 600
        a.rss_reps, a.scale_n, a.query_reps, a.breakdown_n = 3, 60, 5, 150
        a.scale_sizes = [1_000, 100_000, 1_000_000]

    command = "python3 bench/run.py" + "".join(
        f" {x}" for x in sys.argv[1:])

    if a.report_from:
        with open(a.report_from) as f:
            res = json.load(f)
        write_report(res, res.get("command", command), a.out)
        return

    if not a.bin:
        a.bin = os.path.join(REPO, "target", "release", "pipedesk")
        log("building pipedesk (cargo build --release)")
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    a.bin = os.path.abspath(a.bin)

    b = Bench(a)
    b.res["date"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    b.res["command"] = command
    phases = a.only or ["latency", "breakdown", "throughput", "rss", "scale", "migrate", "web"]
    if a.skip_scale:
        phases = [p for p in phases if p not in ("scale", "migrate")]
    b.res["busy_before"] = {}
    try:
        b.setup()
        for ph in phases:
            b.res["busy_before"][ph] = wait_idle(a.idle_wait, ph)
            load = OtherLoad()
            getattr(b, ph)()
            b.res.setdefault("other_load", {})[ph] = load.share()
            log(f"  (other processes used {load.share():.0%} of the CPUs during {ph})")
    finally:
        b.finish()
    text = report(b.res, command)
    if a.no_report:
        print(text)
    else:
        write_report(b.res, command, a.out)
    for name, measured, ok in targets(b.res):
        log(f"{mark(ok)} {name}: {measured}")


if __name__ == "__main__":
    main()
