"""Deterministic, realistic message mix for the pipedesk benchmark.

Every message exists in two renderings that differ only where the two help
desks differ: pipedesk tags replies ``[bench #N]`` and takes them at
``ticket-N@help.example.org``; Roundup tags them ``[issueN]`` and takes all
mail at its one tracker address.  Bodies, sizes, charsets, MIME structure and
senders are identical, so both programs parse the same bytes.

The mix is built on a *base* of tickets that every run delivers first,
sequentially and untimed (one new request per customer, then one reply from
each staff member).  Replies in the timed mix only name base tickets, so a mix
can be delivered in any order, by any number of parallel deliverers, and every
reply still finds its ticket.  Base tickets are numbered 1..BASE_TICKETS in
both programs because the base is delivered in order into an empty database.

Run ``python3 bench/gen.py --out DIR`` to write a mix as .eml files to look at.
"""

from __future__ import annotations

import argparse
import base64
import email.utils
import os
import quopri
import random
from dataclasses import dataclass, field

SITE = "bench"
DOMAIN = "help.example.org"
SUBMIT = f"submit@{DOMAIN}"
ROUNDUP_ADDR = f"issue_tracker@{DOMAIN}"

CUSTOMERS = [
    ("Alice Martin", "alice.martin@example.com"),
    ("Bruno Keller", "b.keller@example.de"),
    ("Chloé Durand", "chloe.durand@example.fr"),
    ("Daniel Okafor", "dokafor@example.ng"),
    ("Eva Novak", "eva.novak@example.cz"),
    ("Farid Haddad", "farid@example.net"),
    ("Greta Lindqvist", "greta.lindqvist@example.se"),
    ("Hiroshi Tanaka", "tanaka.h@example.jp"),
    ("Irina Volkova", "ivolkova@example.ru"),
    ("James O'Neill", "james.oneill@example.ie"),
    ("Kavya Iyer", "kavya.iyer@example.in"),
    ("Lucas Pereira", "lucas.pereira@example.com.br"),
    ("Maya Cohen", "maya@example.co.il"),
    ("Nils Berg", "nils.berg@example.no"),
    ("Olga Sokolova", "olga.s@example.ru"),
    ("Pablo Ruiz", "pablo.ruiz@example.es"),
    ("Qiu Lan", "qiu.lan@example.cn"),
    ("Rosa Bianchi", "rosa.bianchi@example.it"),
    ("Samir Patel", "samir.patel@example.co.uk"),
    ("Tomás Horvat", "tomas.horvat@example.hr"),
    ("Ursula Weber", "u.weber@example.at"),
    ("Victor Nguyen", "victor.nguyen@example.vn"),
    ("Wanda Kowalska", "wanda.k@example.pl"),
    ("Yusuf Demir", "yusuf.demir@example.com.tr"),
]
STAFF = [
    ("Sam Support", "sam@staff.example.net"),
    ("Priya Desk", "priya@staff.example.net"),
    ("Ole Admin", "ole@staff.example.net"),
]
ADMINS = [STAFF[2][1]]
MEMBERS = [STAFF[0][1], STAFF[1][1]]
BASE_TICKETS = len(CUSTOMERS)

PROBLEMS = [
    "VPN drops every twenty minutes",
    "Cannot print to the second-floor printer",
    "Invoice shows the wrong VAT rate",
    "Password reset link has expired",
    "Shared calendar no longer syncs to my phone",
    "Laptop fan is very loud after the update",
    "Access request for the finance share",
    "Website contact form returns error 500",
    "Mailbox is full and I cannot archive",
    "New starter needs an account on Monday",
    "Projector in room 4.12 shows no signal",
    "Order arrived damaged",
    "Refund not received after three weeks",
    "Two-factor codes are rejected",
    "Spreadsheet macro stopped working",
    "Slow Wi-Fi in the east wing",
    "Licence key rejected on reinstall",
    "Backup job failed overnight",
    "Request to change billing address",
    "Monitor flickers when docked",
]

SENTENCES = [
    "Since yesterday afternoon the problem has come back several times.",
    "I have already restarted the machine twice and cleared the browser cache.",
    "Colleagues on the same floor say they see the same thing.",
    "It worked fine until the update that was installed on Tuesday.",
    "The error message says that the connection was reset by the peer.",
    "Could somebody please have a look at this before the end of the week?",
    "I attached what I could find in the logs, though I am not sure it helps.",
    "We have a customer presentation on Thursday, so this is fairly urgent.",
    "Please let me know if you need remote access to my computer.",
    "The order number is on the confirmation mail I received last month.",
    "I tried the steps from the knowledge base article but nothing changed.",
    "It only happens when I am connected through the docking station.",
    "My manager approved the request, her reply is quoted below.",
    "There is no rush on this one, next week would be perfectly fine.",
    "When I log in from home everything works as expected.",
    "The same account works on the old laptop but not on the new one.",
    "I am available all day tomorrow except between eleven and one.",
    "Thanks in advance for your help, and sorry for the trouble.",
    "As far as I can tell, nothing else has changed on my side.",
    "The reference printed at the bottom of the letter is attached as well.",
]

REPLY_LINES = [
    "Thanks, that fixed it for now.",
    "I tried that but it still happens, see the screenshot from this morning.",
    "Any news on this? It is blocking my work.",
    "Could you call me on my mobile when you have a minute?",
    "Here is the extra information you asked for.",
    "We have looked at the logs and applied a fix on the server side.",
    "Please try again now and let us know whether the problem persists.",
    "I have escalated this to the network team, they will contact you today.",
]

# Non-UTF-8 texts: (charset, subject, body paragraph), every character
# encodable in its charset.
CHARSET_TEXTS = [
    ("iso-8859-1", "Problème d'accès à la messagerie",
     "Bonjour, depuis ce matin je ne peux plus accéder à ma boîte aux lettres. "
     "Le message d'erreur indique « mot de passe incorrect », alors que je l'ai "
     "changé hier. Pourriez-vous vérifier mon compte ? Merci d'avance, très cordialement."),
    ("iso-8859-15", "Rückerstattung über 49,90 € fehlt",
     "Guten Tag, ich habe die Ware am Montag zurückgeschickt, aber die Rückerstattung "
     "über 49,90 € ist noch nicht eingegangen. Könnten Sie bitte prüfen, ob das Paket "
     "angekommen ist? Mit freundlichen Grüßen."),
    ("windows-1252", "Invoice – “wrong” amount charged",
     "Hello, the invoice we received shows a total that doesn’t match the quote – "
     "we were charged for 12 seats instead of 10. Could you send a corrected invoice? "
     "Kind regards… and thanks for the quick help last time."),
    ("koi8-r", "Не работает принтер в бухгалтерии",
     "Здравствуйте! Со вчерашнего дня принтер в бухгалтерии не печатает, на экране "
     "ошибка подачи бумаги. Мы уже перезагрузили его два раза. Помогите, пожалуйста, "
     "у нас отчёт до пятницы. Спасибо."),
    ("shift_jis", "パスワードの再設定について",
     "お世話になっております。昨日からシステムにログインできません。パスワードの再設定"
     "メールが届かないので、確認していただけますでしょうか。よろしくお願いいたします。"),
    ("iso-2022-jp", "請求書の送付先変更のお願い",
     "いつもお世話になっております。来月から請求書の送付先を本社の経理部に変更"
     "していただきたく、ご連絡いたしました。お手数ですがよろしくお願いいたします。"),
    ("gb2312", "无法连接公司无线网络",
     "你好，我的笔记本电脑从今天早上开始无法连接公司的无线网络，其他同事都正常。"
     "我已经重启过电脑了，请帮忙看一下，谢谢。"),
    ("iso-8859-2", "Reklamacja zamówienia: uszkodzona paczka",
     "Dzień dobry, paczka dotarła wczoraj, ale karton był zgnieciony, a ekran monitora "
     "jest pęknięty. Proszę o informację, jak zgłosić reklamację. Z poważaniem."),
]


@dataclass
class Message:
    """One message of the mix, in both renderings."""

    index: int
    kind: str             # new, new-unknown, reply, staff-reply, alternative, charset, attachment, big
    sender: str           # envelope sender
    pd_recipient: str     # envelope recipient for pipedesk
    pd: bytes             # the message as pipedesk receives it
    rd: bytes             # the message as roundup-mailgw receives it
    ticket: int | None = None   # ticket a reply is for (base ticket number)
    meta: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.pd)


def _wrap(text: str, width: int = 72) -> str:
    out, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        out.append(line)
    return "\n".join(out)


def _encoded_word(text: str, charset: str) -> str:
    """An RFC 2047 B encoded-word (split to keep each under ~75 chars)."""
    words, chunk = [], ""
    for ch in text:
        trial = chunk + ch
        if len(base64.b64encode(trial.encode(charset))) > 45:
            words.append(chunk)
            chunk = ch
        else:
            chunk = trial
    if chunk:
        words.append(chunk)
    return "\n ".join(
        f"=?{charset}?B?{base64.b64encode(w.encode(charset)).decode()}?=" for w in words)


class Generator:
    def __init__(self, seed: int = 1):
        self.seed = seed
        self.rng = random.Random(seed)
        self.clock = 1_763_370_000  # 2025-11-17, advanced per message
        self.counter = 0
        self.subjects: dict[int, str] = {}    # base ticket -> subject
        self.requestors: dict[int, tuple[str, str]] = {}
        self.first_ids: dict[int, str] = {}   # base ticket -> Message-ID

    # ---- pieces -----------------------------------------------------------

    def _msgid(self) -> str:
        self.counter += 1
        return f"<bench.{self.seed}.{self.counter}.{self.rng.randrange(16**8):08x}@mail.example.com>"

    def _date(self) -> str:
        self.clock += self.rng.randrange(30, 900)
        return email.utils.formatdate(self.clock, usegmt=True)

    def _paragraphs(self, target_bytes: int) -> str:
        paras, size = [], 0
        while size < target_bytes:
            n = self.rng.randrange(2, 5)
            p = _wrap(" ".join(self.rng.choice(SENTENCES) for _ in range(n)))
            paras.append(p)
            size += len(p) + 2
        return "\n\n".join(paras)

    def _body(self, name: str, target_bytes: int) -> str:
        first = name.split()[0]
        text = self._paragraphs(max(200, target_bytes - 300))
        return (f"Hello,\n\n{text}\n\nBest regards,\n{name}\n--\n{first} | "
                f"Phone +44 20 7946 0{self.rng.randrange(100, 999)}\n")

    def _unique_subject(self, base: str) -> str:
        # Roundup appends untagged mail to any issue with the same title
        # (subject_content_match = always), so new requests get unique subjects.
        return f"{base} (ref {self.seed:02d}{self.counter + 1:05d})"

    @staticmethod
    def _headers(pairs: list[tuple[str, str]]) -> str:
        return "".join(f"{k}: {v}\n" for k, v in pairs)

    def _envelope(self, kind, sender, pd_to, subj_pd, subj_rd, extra, ctype, body,
                  ticket=None, meta=None) -> Message:
        name, addr = sender
        date = self._date()
        msgid = self._msgid()
        common_top = [("Return-Path", f"<{addr}>"),
                      ("Received", f"from mail.example.com (mail.example.com [192.0.2.{self.rng.randrange(1, 254)}])\n"
                                   f"\tby mx.{DOMAIN} (Postfix) with ESMTPS id {self.rng.randrange(16**10):010X}\n"
                                   f"\tfor <{pd_to}>; {date}"),
                      ("From", email.utils.formataddr((name, addr)) if name.isascii() else
                       f"{_encoded_word(name, 'utf-8')} <{addr}>"),
                      ("Date", date),
                      ("Message-ID", msgid)]
        tail = extra + [("MIME-Version", "1.0"), ("Content-Type", ctype)]
        pd_h = self._headers(common_top[:3] + [("To", pd_to), ("Subject", subj_pd)] + common_top[3:] + tail)
        rd_h = self._headers(common_top[:3] + [("To", ROUNDUP_ADDR), ("Subject", subj_rd)] + common_top[3:] + tail)
        body_b = body if isinstance(body, bytes) else body.encode("utf-8")
        m = Message(index=0, kind=kind, sender=addr, pd_recipient=pd_to,
                    pd=pd_h.encode("ascii") + b"\n" + body_b,
                    rd=rd_h.encode("ascii") + b"\n" + body_b,
                    ticket=ticket, meta=meta or {})
        m.meta["message_id"] = msgid
        return m

    # ---- kinds ------------------------------------------------------------

    def new_request(self, sender, kind="new", size=2048) -> Message:
        subj = self._unique_subject(self.rng.choice(PROBLEMS))
        # ~2 KB whole message: the headers take ~550 bytes.
        body = self._body(sender[0], size - 400)
        return self._envelope(kind, sender, SUBMIT, subj, subj,
                              [("Content-Transfer-Encoding", "8bit")],
                              'text/plain; charset="utf-8"', body.encode("utf-8"))

    def reply(self, ticket: int, from_staff: bool) -> Message:
        subj = self.subjects[ticket]
        sender = self.rng.choice(STAFF) if from_staff else self.requestors[ticket]
        line = self.rng.choice(REPLY_LINES[4:] if from_staff else REPLY_LINES[:4])
        quoted = "\n".join("> " + ln for ln in self._paragraphs(600).splitlines())
        body = (f"{line}\n\n{self._paragraphs(300)}\n\n{sender[0]}\n\n"
                f"On {email.utils.formatdate(self.clock - 86400, usegmt=True)}, {self.requestors[ticket][0]} wrote:\n{quoted}\n")
        extra = [("In-Reply-To", self.first_ids[ticket]), ("References", self.first_ids[ticket]),
                 ("Content-Transfer-Encoding", "8bit")]
        return self._envelope("staff-reply" if from_staff else "reply", sender,
                              f"ticket-{ticket}@{DOMAIN}",
                              f"Re: [{SITE} #{ticket}] {subj}", f"Re: [issue{ticket}] {subj}",
                              extra, 'text/plain; charset="utf-8"', body.encode("utf-8"),
                              ticket=ticket)

    def alternative(self, sender) -> Message:
        subj = self._unique_subject(self.rng.choice(PROBLEMS))
        text = self._body(sender[0], 1500)
        html_paras = "".join(f"<p>{p.replace(chr(10), ' ')}</p>\n" for p in text.split("\n\n"))
        html = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><style>p{margin:0 0 1em}"
                "</style></head>\n<body style=\"font-family:Calibri,sans-serif\">\n"
                f"{html_paras}</body></html>\n")
        b = f"=_alt_{self.rng.randrange(16**12):012x}"
        body = (f"This is a multi-part message in MIME format.\n\n--{b}\n"
                "Content-Type: text/plain; charset=\"utf-8\"\nContent-Transfer-Encoding: quoted-printable\n\n"
                + quopri.encodestring(text.encode("utf-8")).decode("ascii") +
                f"\n--{b}\nContent-Type: text/html; charset=\"utf-8\"\nContent-Transfer-Encoding: quoted-printable\n\n"
                + quopri.encodestring(html.encode("utf-8")).decode("ascii") + f"\n--{b}--\n")
        return self._envelope("alternative", sender, SUBMIT, subj, subj, [],
                              f'multipart/alternative; boundary="{b}"', body)

    def charset(self, sender) -> Message:
        cs, subj_text, para = self.rng.choice(CHARSET_TEXTS)
        subj_text = self._unique_subject(subj_text)
        subj = _encoded_word(subj_text, cs)
        sig = sender[0]
        try:
            sig.encode(cs)
        except UnicodeEncodeError:
            sig = sender[1].split("@")[0]
        text = f"{para}\n\n{para}\n\n{para}\n\n{sig}\n"
        raw = text.encode(cs)
        if cs in ("iso-2022-jp",):
            cte, enc = "7bit", raw.decode("ascii")
        elif cs in ("shift_jis", "gb2312", "koi8-r"):
            cte, enc = "base64", base64.encodebytes(raw).decode("ascii")
        else:
            cte, enc = "quoted-printable", quopri.encodestring(raw).decode("ascii")
        return self._envelope("charset", sender, SUBMIT, subj, subj,
                              [("Content-Transfer-Encoding", cte)],
                              f'text/plain; charset="{cs}"', enc, meta={"charset": cs})

    def attachment(self, sender, attach_bytes=100 * 1024, kind="attachment") -> Message:
        subj = self._unique_subject(self.rng.choice(PROBLEMS))
        text = self._body(sender[0], 800)
        # Deterministic, incompressible-looking bytes with a PDF header.
        blob = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        r = random.Random(self.seed * 7919 + self.counter)
        blob += r.randbytes(max(0, attach_bytes - len(blob) - 6))
        blob += b"%%EOF\n"
        b = f"=_mix_{self.rng.randrange(16**12):012x}"
        body = (f"--{b}\nContent-Type: text/plain; charset=\"utf-8\"\nContent-Transfer-Encoding: 8bit\n\n{text}\n"
                f"--{b}\nContent-Type: application/pdf; name=\"scan-{self.counter}.pdf\"\n"
                f"Content-Disposition: attachment; filename=\"scan-{self.counter}.pdf\"\n"
                "Content-Transfer-Encoding: base64\n\n"
                + base64.encodebytes(bytes(blob)).decode("ascii") + f"--{b}--\n")
        return self._envelope(kind, sender, SUBMIT, subj, subj, [],
                              f'multipart/mixed; boundary="{b}"', body)

    def unknown_sender(self) -> tuple[str, str]:
        n = self.counter + 1
        return (f"Guest {n}", f"guest{self.seed}.{n}@example.org")

    # ---- mixes ------------------------------------------------------------

    def base(self) -> list[Message]:
        """One new request per customer (tickets 1..N), then a staff reply each."""
        msgs = []
        for i, cust in enumerate(CUSTOMERS, start=1):
            m = self.new_request(cust)
            subject = m.pd.split(b"\nSubject: ", 1)[1].split(b"\n", 1)[0].decode()
            self.subjects[i] = subject
            self.requestors[i] = cust
            self.first_ids[i] = m.meta["message_id"]
            msgs.append(m)
        for i, _ in enumerate(STAFF, start=1):
            msgs.append(self.reply(i, from_staff=True))
        for i, m in enumerate(msgs):
            m.index = i
        return msgs

    def mix(self, n: int) -> list[Message]:
        """n messages: the realistic mix (base() must have been called first)."""
        assert self.subjects, "call base() first"
        table = [("new", 35), ("new-unknown", 10), ("reply", 20), ("staff-reply", 10),
                 ("alternative", 12), ("charset", 9), ("attachment", 4)]
        kinds = [k for k, w in table for _ in range(w)]
        out = []
        follow_up = None
        for i in range(n):
            kind = self.rng.choice(kinds)
            cust = self.rng.choice(CUSTOMERS)
            if follow_up:
                # Half the first-time senders write again straight away ("and
                # another thing"): delivered in parallel, the two race to
                # create the same new user in Roundup.
                m, follow_up = self.new_request(follow_up), None
            elif kind == "new":
                m = self.new_request(cust)
            elif kind == "new-unknown":
                guest = self.unknown_sender()
                m = self.new_request(guest, kind="new-unknown")
                if self.rng.random() < 0.5:
                    follow_up = guest
            elif kind in ("reply", "staff-reply"):
                m = self.reply(self.rng.randrange(1, BASE_TICKETS + 1), kind == "staff-reply")
            elif kind == "alternative":
                m = self.alternative(cust)
            elif kind == "charset":
                m = self.charset(cust)
            else:
                m = self.attachment(cust)
            m.index = i
            out.append(m)
        return out

    def big(self, total_bytes: int) -> Message:
        """A new request whose attachment makes the whole message ~total_bytes."""
        payload = int((total_bytes - 1600) * 57 / 77)  # base64 lines: 57 bytes -> 77
        m = self.attachment(CUSTOMERS[0], attach_bytes=payload, kind="big")
        return m


def build(seed: int, n: int) -> tuple[list[Message], list[Message]]:
    g = Generator(seed)
    base = g.base()
    return base, g.mix(n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-n", type=int, default=50)
    ap.add_argument("--out", required=True, help="folder for base-*.eml and mix-*.eml")
    ap.add_argument("--roundup", action="store_true", help="write Roundup's rendering")
    a = ap.parse_args()
    base, mix = build(a.seed, a.n)
    os.makedirs(a.out, exist_ok=True)
    for prefix, msgs in (("base", base), ("mix", mix)):
        for m in msgs:
            with open(os.path.join(a.out, f"{prefix}-{m.index:04d}-{m.kind}.eml"), "wb") as f:
                f.write(m.rd if a.roundup else m.pd)
    sizes = {}
    for m in mix:
        sizes.setdefault(m.kind, []).append(m.size)
    for k, v in sorted(sizes.items()):
        print(f"{k:12} n={len(v):4}  median {sorted(v)[len(v) // 2]:7} bytes")


if __name__ == "__main__":
    main()
