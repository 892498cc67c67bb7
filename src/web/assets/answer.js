// The thread page's canned-answer picker (SPEC §6): choosing an answer puts
// its text, filled in for this ticket by the server
// (GET /api/tickets/N/canned/NAME), into the reply where the cursor is.
// A file of its own: the Content-Security-Policy allows no inline script.
"use strict";

(function () {
  for (const select of document.querySelectorAll("select[data-canned]")) {
    const form = select.closest("form");
    const text = form.querySelector('textarea[name="body"]');
    const error = form.querySelector("[data-canned-error]");
    select.addEventListener("change", async function () {
      const name = select.value;
      if (!name) return;
      if (error) error.hidden = true;
      select.disabled = true;
      try {
        const url =
          "/api/tickets/" +
          encodeURIComponent(select.dataset.ticket) +
          "/canned/" +
          encodeURIComponent(name);
        const r = await fetch(url, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        const answer = await r.json();
        if (!r.ok) throw new Error(answer.error || "the canned answer did not come");
        const at = text.selectionStart;
        text.setRangeText(answer.text, at, text.selectionEnd, "end");
        text.dispatchEvent(new Event("input", { bubbles: true }));
        text.focus();
      } catch (e) {
        if (error) {
          error.textContent = e.message;
          error.hidden = false;
        }
      } finally {
        select.disabled = false;
        select.value = "";
      }
    });
  }
})();
