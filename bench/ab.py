#!/usr/bin/env python3
"""deliver, this build against an earlier one: the benchmark's message mix,
one process per message, the two builds taking turns on every message (who
goes first alternates), each into its own desk seeded alike.

    python3 bench/ab.py --before-rev 7888f23            # builds that commit once, in the cache
    python3 bench/ab.py --before /path/to/old/pipedesk  # or a binary at hand

What a change must not do to the hot path (issues 10–12: "median within
5%") is measured here, in one run, on one machine, against the commit
before it; a comparison with an old BENCHMARKS.md would compare machines.
It rewrites only the `## deliver against an earlier build` section of
BENCHMARKS.md (--no-report prints it instead).

The instruction counts beside the times come from callgrind (valgrind),
which counts the same for the same binary and input whatever else the
machine does: one new request, into a copy of each seeded desk.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import gen  # noqa: E402
import run  # noqa: E402  (its Pipedesk and the quiet-machine gate)
import web  # noqa: E402  (its section writer)

HEADING, BEFORE = run.AB_SECTION


def log(*a) -> None:
    print("ab:", *a, file=sys.stderr, flush=True)


def build_rev(rev: str, cache: str) -> str:
    """A release build of `rev`, made once in a worktree under the cache."""
    sha = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", rev], check=True,
                         capture_output=True, text=True).stdout.strip()
    out = os.path.join(cache, f"pipedesk-{sha}")
    if os.path.exists(out):
        return out
    tree = os.path.join(cache, f"tree-{sha}")
    if not os.path.exists(tree):
        subprocess.run(["git", "-C", REPO, "worktree", "add", "--detach", tree, sha], check=True)
    log(f"building {sha} (a release build takes a few minutes)")
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=tree, check=True,
                   env={**os.environ, "CARGO_TARGET_DIR": os.path.join(cache, "target-ab")})
    shutil.copy2(os.path.join(cache, "target-ab", "release", "pipedesk"), out)
    subprocess.run(["git", "-C", REPO, "worktree", "remove", "--force", tree], check=False)
    return out


def head() -> str:
    """This checkout's commit, marked when it has uncommitted changes."""
    sha = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return f"{sha} + uncommitted changes" if dirty else sha


def instructions(binary: str, desk: str, msg_path: str, m) -> int | None:
    """callgrind's instruction count of one delivery into a copy of `desk`."""
    if not shutil.which("valgrind"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "desk")
        shutil.copytree(desk, copy)
        prog = run.Pipedesk(binary)
        r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg",
                            *prog.argv(copy, m)], stdin=open(msg_path, "rb"),
                           capture_output=True, text=True)
        found = re.search(r"Collected : (\d+)", r.stderr)
        return int(found.group(1)) if found else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", help="the earlier build's binary")
    ap.add_argument("--before-rev", help="or a git revision to build it from")
    ap.add_argument("--after", default=os.path.join(REPO, "target", "release", "pipedesk"),
                    help="this build (default: %(default)s)")
    ap.add_argument("-n", type=int, default=600, help="messages of the mix (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache", default=os.environ.get("PIPEDESK_BENCH_CACHE",
                                                      os.path.join(tempfile.gettempdir(), "pipedesk-bench")))
    ap.add_argument("--out", default=os.path.join(REPO, "BENCHMARKS.md"))
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--after-config",
                    help="TOML added to this build's config only (bench/ten-rules.toml: "
                         "the cost of rules, which the earlier build cannot read)")
    ap.add_argument("--title", default=HEADING.lstrip("# ").strip(),
                    help="the BENCHMARKS.md section it writes (default: %(default)s)")
    ap.add_argument("--target", type=float, default=1.05,
                    help="the ratio of medians it must stay within (default: %(default)s)")
    a = ap.parse_args()
    heading = f"## {a.title}"
    os.makedirs(a.cache, exist_ok=True)
    if a.before_rev:
        a.before = build_rev(a.before_rev, a.cache)
    if not a.before:
        sys.exit("ab: give --before BIN or --before-rev REV")
    work = tempfile.mkdtemp(prefix="ab-", dir=a.cache)
    builds = {"before": a.before, "after": a.after}
    # Snapshots: a rebuild during the run must not change what is measured.
    for name, path in builds.items():
        snap = os.path.join(work, f"pipedesk-{name}")
        shutil.copy2(path, snap)
        builds[name] = snap
    base, mix = gen.build(a.seed, a.n)
    paths = {}
    for kind, msgs in (("base", base), ("mix", mix)):
        for m in msgs:
            p = os.path.join(work, "msgs", kind, f"{m.index:05d}.eml")
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(m.pd)
            paths[(kind, m.index)] = p
    desks = {}
    for name, binary in builds.items():
        prog = run.Pipedesk(binary)
        d = os.path.join(work, name)
        prog.make(d)
        if name == "after" and a.after_config:
            with open(a.after_config) as extra, open(os.path.join(d, "pipedesk.toml"), "a") as f:
                f.write("\n" + extra.read())
        for m in base:
            r = prog.deliver(d, m, paths[("base", m.index)])
            if not prog.ok(r):
                sys.exit(f"ab: {name}: a base message failed: {r.out[:500]!r}")
        desks[name] = d
    # The instruction counts first, on the seeded desks, before the mix.
    first_new = next(m for m in mix if m.kind == "new")
    counts = {name: instructions(binary, desks[name], paths[("mix", first_new.index)], first_new)
              for name, binary in builds.items()}
    times: dict[str, list[int]] = {"before": [], "after": []}
    failed = {"before": 0, "after": 0}
    blocks = run.Blocks(30)
    B = 10
    for start in range(0, len(mix), B):
        block = mix[start:start + B]
        got = []

        def work_block(block=block, got=got, start=start):
            for i, m in enumerate(block, start=start):
                order = ["before", "after"] if i % 2 == 0 else ["after", "before"]
                for name in order:
                    prog = run.Pipedesk(builds[name])
                    r = prog.deliver(desks[name], m, paths[("mix", m.index)])
                    if not prog.ok(r):
                        failed[name] += 1
                    got.append((name, r.ns))

        if blocks.run(work_block):
            for name, ns in got:
                times[name].append(ns)
    if min(len(v) for v in times.values()) < len(mix) // 4:
        log("the machine was busy through most blocks: statistics from all of them")
    med = {k: statistics.median(v) / 1e6 for k, v in times.items() if v}
    p95 = {k: sorted(v)[int(len(v) * 0.95) - 1] / 1e6 for k, v in times.items() if v}
    ratio = med["after"] / med["before"]
    L = []
    w = L.append
    w(f"{heading}\n")
    w(f"`python3 bench/ab.py` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}): the mix of "
      f"bench/gen.py (seed {a.seed}), {len(mix)} messages, one process each; the two builds take turns on "
      "every message, each into its own desk seeded alike. Blocks of 10 messages during which other "
      "processes used more than 55% of the CPUs were delivered but not counted."
      + (f" This build's desk adds `{os.path.relpath(a.after_config, REPO)}` to its config."
         if a.after_config else "") + "\n")
    w("| build | median | p95 | instructions, one new request (callgrind) | failed |")
    w("| --- | ---: | ---: | ---: | ---: |")
    labels = {"before": a.before_rev or os.path.basename(a.before), "after": head()}
    for name in ("before", "after"):
        c = counts[name]
        shown = f"{c:,}" if c else "–"
        w(f"| {name}: `{labels[name]}` | {med[name]:.2f} ms | {p95[name]:.2f} ms | {shown} | {failed[name]} |")
    w("")
    verdict = "✓" if ratio <= a.target else "✗"
    w(f"Target: this build's median within {round((a.target - 1) * 100)}% of the earlier one's: "
      f"{ratio:.3f}× {verdict}\n")
    section = "\n".join(L) + "\n"
    if a.no_report:
        print(section)
    else:
        web.write_section(a.out, section, heading=heading, before=BEFORE)
    shutil.rmtree(work, ignore_errors=True)
    log(f"median before {med['before']:.2f} ms, after {med['after']:.2f} ms ({ratio:.3f}×)")


if __name__ == "__main__":
    main()
