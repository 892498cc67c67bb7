#!/usr/bin/env python3
"""Small queries over pipedesk's JSON (stdin) for the MTA tests.

  find-subject TEXT   list --json: id of the newest ticket whose subject contains TEXT
  has-id N            list --json: exit 0 if ticket N is listed
  msg-count MSGID     show --json: history entries whose message_id is MSGID
  msg-kind MSGID      show --json: the kind of that entry
  field KEY           show --json: a top-level field
Bad or empty JSON prints nothing (and exits 1), so pollers simply go on.
"""
import json, sys

def norm(m):
    return (m or "").strip().strip("<>").lower()

def main():
    op, arg = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
    try:
        data = json.load(sys.stdin)
    except ValueError:
        return 1
    if op == "find-subject":
        for t in data:
            if arg in (t.get("subject") or ""):
                print(t["id"])
                return 0
        return 0
    if op == "has-id":
        return 0 if any(str(t.get("id")) == arg for t in data) else 1
    hist = data.get("history", []) if isinstance(data, dict) else []
    if op == "msg-count":
        print(sum(1 for h in hist if norm(h.get("message_id")) == norm(arg)))
        return 0
    if op == "msg-kind":
        for h in hist:
            if norm(h.get("message_id")) == norm(arg):
                print(h.get("kind"))
                return 0
        return 0
    if op == "field":
        v = data.get(arg)
        print(v if not isinstance(v, (list, dict)) else json.dumps(v))
        return 0
    print("pdjson: unknown query " + op, file=sys.stderr)
    return 2

sys.exit(main())
