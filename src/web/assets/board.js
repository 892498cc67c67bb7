// The live board (SPEC §6): columns by status, lanes by owner, cards that
// move by drag and drop or by keyboard, and a stream of server-sent events
// that keeps every open board up to date. Plain JavaScript, no build step;
// text from mail only ever reaches the page through textContent.
"use strict";

(function () {
  const board = document.getElementById("board");
  if (!board) return;
  const statuses = JSON.parse(board.dataset.statuses);
  const lanes = JSON.parse(board.dataset.lanes); // [{owner: "" | addr, label}]
  const queue = board.dataset.queue || "";
  const live = document.getElementById("live");
  const message = document.getElementById("message");
  // How many resolved cards the board holds: the server's number.
  const RESOLVED_SHOWN = Number(board.dataset.resolved);
  // The queue the board of all queues leaves out: the server's name.
  const SPAM = board.dataset.spam;
  // The server's priority words by number, normal left out (not shown),
  // and the zone due dates are shown in (site.timezone).
  const priorities = JSON.parse(board.dataset.priorities || "{}");
  const dueFormat = dueFormatter(board.dataset.timezone);
  let seq = 0;
  let source = null;
  const cards = new Map(); // ticket id -> the card as shown
  // Ticket id -> the latest card the server gave: the board, an event or an
  // answer, whichever has the highest version (they arrive in any order).
  const known = new Map();
  // Ticket id -> the last of its moves in flight: one card's moves go one
  // after another, each with the version the answer before it gave.
  const moving = new Map();
  // Found by key, not by a selector over the whole board: with 10 000 cards
  // a querySelector per card made loading quadratic (40 s in Chromium).
  const elements = new Map(); // ticket id -> its card's element
  const cells = new Map(); // `${status} ${owner}` -> the cell
  const heads = new Map(); // status -> its column head's count

  // ---- rendering ---------------------------------------------------------

  function cellOf(status, owner) {
    return cells.get(`${status} ${owner || ""}`);
  }

  function layout() {
    board.textContent = "";
    cells.clear();
    heads.clear();
    elements.clear();
    board.style.gridTemplateColumns = `repeat(${statuses.length}, minmax(12rem, 1fr))`;
    for (const s of statuses) {
      const h = document.createElement("div");
      h.className = "colhead";
      h.dataset.column = s;
      h.append(s, " ");
      const n = document.createElement("span");
      n.className = "n";
      h.append(n);
      heads.set(s, n);
      board.append(h);
    }
    for (const lane of lanes) {
      const lh = document.createElement("div");
      lh.className = "lanehead";
      lh.textContent = lane.label;
      board.append(lh);
      for (const s of statuses) {
        const cell = document.createElement("div");
        cell.className = "cell";
        cell.dataset.status = s;
        cell.dataset.owner = lane.owner;
        cell.setAttribute("aria-label", `${s}, ${lane.label}`);
        cell.addEventListener("dragover", (e) => { e.preventDefault(); cell.classList.add("over"); });
        cell.addEventListener("dragleave", () => cell.classList.remove("over"));
        cell.addEventListener("drop", (e) => {
          e.preventDefault();
          cell.classList.remove("over");
          const id = Number(e.dataTransfer.getData("text/plain"));
          if (id) move(id, cell.dataset.status, cell.dataset.owner);
        });
        cells.set(`${s} ${lane.owner}`, cell);
        board.append(cell);
      }
    }
  }

  function age(created) {
    const secs = Math.max(0, (Date.now() - Date.parse(created)) / 1000);
    if (secs < 3600) return `${Math.floor(secs / 60)}m`;
    if (secs < 86400) return `${Math.floor(secs / 3600)}h`;
    return `${Math.floor(secs / 86400)}d`;
  }

  /// A due date as the pages and `show` write a time (term::human_date),
  /// "Mon 07 Dec 17:00", in the site's zone.
  function dueFormatter(timeZone) {
    const options = { weekday: "short", day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone };
    let f;
    try {
      f = new Intl.DateTimeFormat("en-GB", options);
    } catch (e) {
      delete options.timeZone; // a zone this browser does not know: its own
      f = new Intl.DateTimeFormat("en-GB", options);
    }
    return {
      format(at) {
        const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
        return `${p.weekday} ${p.day} ${p.month} ${p.hour}:${p.minute}`;
      },
    };
  }

  /// Priority (not normal) and due date: a card's own fields (SPEC §6).
  /// Overdue as the thread page says it (view::is_overdue): past due, not
  /// resolved; the clock moves, so it is decided here, on every render.
  function fields(el, card) {
    const word = priorities[String(card.priority)] || "";
    const p = el.querySelector(".priority");
    p.textContent = word;
    p.hidden = !word;
    p.className = word ? `priority p-${word}` : "priority";
    const due = el.querySelector(".due");
    const at = card.due ? Date.parse(card.due) : NaN;
    due.hidden = Number.isNaN(at);
    due.textContent = due.hidden ? "" : `due ${dueFormat.format(at)}`;
    due.title = card.due || "";
    const overdue = !due.hidden && at < Date.now() && card.status !== "resolved";
    el.classList.toggle("overdue", overdue);
    if (overdue) due.textContent += " (overdue)";
  }

  /// The SLA's nearest deadline (SPEC §8), in words like the due date;
  /// breached (the server says so, or a running clock's deadline has
  /// passed since) stands out as overdue does. Paused clocks say so.
  const CLOCKS = { first_response: "answer", next_response: "next answer", resolve: "resolve" };
  function sla(el, card) {
    const span = el.querySelector(".sla");
    const at = card.sla_due ? Date.parse(card.sla_due) : NaN;
    const running = !Number.isNaN(at);
    const late = running && !card.sla_paused && at < Date.now();
    const breached = Boolean(card.sla_breached) || late;
    let text = running ? `${CLOCKS[card.sla_clock] || "SLA"} by ${dueFormat.format(at)}` : "";
    if (card.sla_paused && running) text += " (paused)";
    if (breached) text = running ? `${text} · SLA breached` : "SLA breached";
    span.hidden = !text;
    span.textContent = text;
    span.title = card.sla_due ? `SLA deadline ${card.sla_due}` : "";
    el.classList.toggle("sla-breached", breached);
  }

  function element(card) {
    let el = elements.get(card.id);
    if (!el) {
      el = document.createElement("div");
      elements.set(card.id, el);
      el.className = "card";
      el.draggable = true;
      el.tabIndex = 0;
      el.dataset.ticket = card.id;
      el.addEventListener("dragstart", (e) => {
        e.dataTransfer.setData("text/plain", String(card.id));
        e.dataTransfer.effectAllowed = "move";
      });
      el.addEventListener("keydown", keys);
      const head = document.createElement("div");
      const num = document.createElement("a");
      num.className = "num";
      num.href = `/tickets/${card.id}`;
      num.textContent = `#${card.id}`;
      const subject = document.createElement("span");
      subject.className = "subject";
      const priority = document.createElement("span");
      priority.className = "priority";
      priority.hidden = true;
      head.append(num, priority, subject);
      const meta = document.createElement("div");
      meta.className = "meta";
      for (const k of ["requestor", "age", "messages", "due", "sla"]) {
        const span = document.createElement("span");
        span.className = k;
        meta.append(span);
      }
      el.append(head, meta);
    }
    el.dataset.version = card.version;
    el.dataset.status = card.status;
    el.dataset.owner = card.owner || "";
    el.querySelector(".subject").textContent = card.subject;
    el.querySelector(".requestor").textContent = card.requestor;
    el.querySelector(".age").textContent = age(card.created);
    el.querySelector(".age").title = `opened ${card.created}`;
    el.querySelector(".messages").textContent =
      `${card.messages} ${card.messages === 1 ? "message" : "messages"}`;
    fields(el, card);
    sla(el, card);
    el.setAttribute("aria-label",
      `Ticket ${card.id}: ${card.subject}, ${card.status}, owner ${card.owner || "nobody"}`);
    return el;
  }

  /// The cell a card goes in; null when it has no place on this board
  /// (merged into another, or of another queue than the one shown; the
  /// board of all queues leaves `spam` out, as /api/board does, SPEC §6,
  /// so a ticket marked as spam leaves it live).
  function home(card) {
    const elsewhere = queue ? card.queue !== queue : card.queue === SPAM;
    if (card.merged_into || elsewhere) return null;
    return cellOf(card.status, card.owner) || cellOf(card.status, "");
  }

  function remove(id) {
    cards.delete(id);
    const el = elements.get(id);
    if (el) el.remove();
    elements.delete(id);
  }

  /// Puts a card where its data says, newest first within a cell.
  function place(card) {
    const cell = home(card);
    if (!cell) {
      remove(card.id);
      counts();
      return null;
    }
    cards.set(card.id, card);
    const el = element(card);
    let before = null;
    for (const c of cell.children) {
      if (c !== el && Number(c.dataset.ticket) < card.id) { before = c; break; }
    }
    if (el.parentElement !== cell || (before && el.nextElementSibling !== before)) {
      // Moving an element in the DOM takes its focus away: a keyboard user
      // whose card moved (by their key, a snap back, or someone else's
      // change) would find the next key going nowhere.
      const focused = document.activeElement === el;
      cell.insertBefore(el, before || null);
      if (focused) el.focus();
    }
    trimResolved();
    counts();
    return el;
  }

  /// The resolved column holds the most recently resolved only.
  function trimResolved() {
    const resolved = [...cards.values()].filter((c) => c.status === "resolved");
    if (resolved.length <= RESOLVED_SHOWN) return;
    resolved.sort((a, b) => Date.parse(b.updated) - Date.parse(a.updated) || b.id - a.id);
    for (const c of resolved.slice(RESOLVED_SHOWN)) remove(c.id);
  }

  function counts() {
    const n = new Map(statuses.map((s) => [s, 0]));
    for (const c of cards.values()) n.set(c.status, (n.get(c.status) || 0) + 1);
    for (const [s, head] of heads) head.textContent = `(${n.get(s)})`;
  }

  function say(text) {
    message.textContent = text;
    message.hidden = !text;
  }

  // ---- loading and live updates ------------------------------------------

  async function load() {
    const url = "/api/board" + (queue ? `?queue=${encodeURIComponent(queue)}` : "");
    const r = await fetch(url, { headers: { Accept: "application/json" } });
    if (r.status === 401) { location.href = "/login"; return; }
    if (!r.ok) { say(`The board did not load (${r.status}).`); return; }
    const data = await r.json();
    layout();
    cards.clear();
    known.clear();
    // Every cell filled at once, newest first, in one pass over the cards.
    const filling = new Map();
    for (const c of data.cards) {
      known.set(c.id, c);
      const cell = home(c);
      if (!cell) continue;
      cards.set(c.id, c);
      if (!filling.has(cell)) filling.set(cell, []);
      filling.get(cell).push(c);
    }
    for (const [cell, list] of filling) {
      list.sort((a, b) => b.id - a.id);
      const all = document.createDocumentFragment();
      for (const c of list) all.append(element(c));
      cell.append(all);
    }
    trimResolved();
    counts();
    seq = data.seq;
    listen();
  }

  function listen() {
    if (source) source.close();
    // The first connection names where the board is; reconnections send
    // Last-Event-ID themselves.
    source = new EventSource(`/api/events?since=${seq}`);
    source.addEventListener("open", () => { live.textContent = "live"; live.classList.add("on"); });
    source.addEventListener("error", () => { live.textContent = "reconnecting…"; live.classList.remove("on"); });
    source.addEventListener("ticket", (e) => {
      const card = JSON.parse(e.data);
      seq = Math.max(seq, Number(e.lastEventId) || 0);
      const had = known.get(card.id);
      if (!learn(card)) return;
      // A card being moved stays where it was put until its answers are
      // in; then it goes where the latest of all says.
      if (moving.has(card.id)) return;
      const el = place(card);
      if (el && (!had || card.version > had.version)) {
        el.classList.remove("flash");
        void el.offsetWidth;
        el.classList.add("flash");
      }
    });
    source.addEventListener("reset", (e) => {
      seq = JSON.parse(e.data).seq;
      load();
    });
  }

  // ---- moving cards --------------------------------------------------------

  /// Keeps `card` as the server's latest word on its ticket, unless a
  /// later version came first; false when it is older than what we know.
  function learn(card) {
    const had = known.get(card.id);
    if (had && had.version > card.version) return false;
    known.set(card.id, card);
    return true;
  }

  /// Moves a card: shown at once, sent when the card's earlier moves have
  /// their answers. A refused move drops the ones queued behind it (they
  /// were made on a board that was wrong); when the last answer is in, the
  /// card goes where the server's latest state says.
  function move(id, status, owner) {
    const card = cards.get(id);
    if (!card) return;
    owner = owner || null;
    if (card.status === status && (card.owner || null) === owner) return;
    // Updated now, as the server will say: a card put on a full resolved
    // column by hand must not be the one that column drops as its oldest.
    const el = place({ ...card, status, owner, updated: new Date().toISOString() });
    if (el) { el.classList.add("pending"); el.focus(); }
    say("");
    const before = moving.get(id) || Promise.resolve(true);
    const job = before.then((ok) => ok && send(id, status, owner)).catch(() => false);
    moving.set(id, job);
    job.then(() => {
      if (moving.get(id) !== job) return;
      moving.delete(id);
      const now = known.get(id);
      const shown = now && place(now);
      if (shown) shown.classList.remove("pending");
    });
  }

  /// One move to the server, with the version of the ticket we know; true
  /// when it was made.
  async function send(id, status, owner) {
    const was = known.get(id);
    if (!was) return false;
    let r = null;
    let body = null;
    try {
      r = await fetch(`/api/tickets/${id}/move`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json",
                   "If-Match": `"${was.version}"` },
        body: JSON.stringify({ status, owner }),
      });
      body = await r.json();
    } catch (err) {
      body = null;
    }
    if (r && r.ok && body) {
      learn(cardOf(body, was));
      return true;
    }
    if (r && r.status === 401) { location.href = "/login"; return false; }
    // Refused, or lost a race: the card goes back to where the ticket is.
    if (r && r.status === 412 && body) {
      learn(cardOf(body, was));
      const last = (body.history || []).slice(-1)[0];
      const who = last ? last.author : "someone";
      say(`Ticket #${id} was changed by ${who} meanwhile; it is back where it is now.`);
      return false;
    }
    say(body && body.error ? `Ticket #${id}: ${body.error}` : "The change did not go through.");
    return false;
  }

  /// A card from a ticket object of the API.
  function cardOf(t, old) {
    return { ...old, id: t.id, status: t.status, owner: t.owner, queue: t.queue,
             subject: t.subject, requestor: t.requestor, version: t.version,
             updated: t.updated, created: t.created };
  }

  /// Keyboard moves, for those who cannot drag. A key that would resolve
  /// the ticket asks first: a drop is aimed, a key press can slip, and
  /// resolving mails the requestor (SPEC §6).
  function keys(e) {
    const el = e.currentTarget;
    const id = Number(el.dataset.ticket);
    const card = cards.get(id);
    if (!card) return;
    const si = statuses.indexOf(card.status);
    const li = lanes.findIndex((l) => l.owner === (card.owner || ""));
    let to = null;
    switch (e.key) {
      case "ArrowLeft": if (si > 0) to = [statuses[si - 1], card.owner]; break;
      case "ArrowRight": if (si < statuses.length - 1) to = [statuses[si + 1], card.owner]; break;
      case "ArrowUp": if (li > 0) to = [card.status, lanes[li - 1].owner]; break;
      case "ArrowDown": if (li < lanes.length - 1) to = [card.status, lanes[li + 1].owner]; break;
      case "Enter": location.href = `/tickets/${id}`; break;
      default: return;
    }
    e.preventDefault();
    if (!to) return;
    const [status, owner] = to;
    if (status === "resolved" && card.status !== "resolved" &&
        !window.confirm(`Resolve #${id} and mail the requestor (${card.requestor})?`)) {
      el.focus();
      return;
    }
    move(id, status, owner);
  }

  // ---- the rest of the page -----------------------------------------------

  const select = document.getElementById("queue");
  if (select) {
    select.addEventListener("change", () => {
      const q = select.value;
      location.search = q ? `?queue=${encodeURIComponent(q)}` : "";
    });
  }
  // Full screen for a wall screen: the page's chrome goes, and the button
  // says how to come back. Leaving by the browser's own way (Escape) puts
  // the chrome back too.
  const full = document.getElementById("fullscreen");
  function wall(on) {
    document.body.classList.toggle("wall", on);
    if (!full) return;
    full.textContent = on ? "Leave full screen" : "Full screen";
    full.setAttribute("aria-pressed", String(on));
  }
  if (full) {
    full.addEventListener("click", () => {
      const on = !document.body.classList.contains("wall");
      wall(on);
      if (on && document.documentElement.requestFullscreen) {
        document.documentElement.requestFullscreen().catch(() => {});
      } else if (!on && document.fullscreenElement) {
        document.exitFullscreen().catch(() => {});
      }
    });
    document.addEventListener("fullscreenchange", () => {
      if (!document.fullscreenElement) wall(false);
    });
  }
  // Ages move on by themselves.
  setInterval(() => { for (const c of cards.values()) element(c); }, 60000);
  load();
})();
