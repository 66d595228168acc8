// backchannel UI: live updates. The server announces each case that gained acts over
// server-sent events; a page showing that case fetches itself again and swaps in its main
// part, leaving a half-written message in the composer untouched.
"use strict";

(function () {
  const main = document.querySelector("main[data-live-case]");
  if (!main) return;
  const events = new EventSource("/events");
  events.addEventListener("update", async (event) => {
    const current = document.querySelector("main[data-live-case]");
    if (!current || event.data !== current.dataset.liveCase) return;
    const answer = await fetch(location.href, { credentials: "same-origin" });
    if (!answer.ok) return;
    const fresh = new DOMParser()
      .parseFromString(await answer.text(), "text/html")
      .querySelector("main[data-live-case]");
    if (!fresh) return;
    const draft = current.querySelector("textarea");
    const freshDraft = fresh.querySelector("textarea");
    if (draft && freshDraft) {
      freshDraft.value = draft.value;
    }
    current.replaceWith(fresh);
    document.body.dataset.updatedAt = String(Date.now());
  });
})();

// The position editor: the weights' sum, as it is typed (the rules check it again on sealing).
(function () {
  const form = document.querySelector("form.position");
  if (!form) return;
  const out = document.getElementById("weights-sum");
  const check = () => {
    let sum = 0;
    for (const input of form.querySelectorAll("input.weight")) sum += Number(input.value) || 0;
    out.textContent = sum.toFixed(3);
    out.className = Math.abs(sum - 1) < 1e-6 ? "ok" : "error";
  };
  form.addEventListener("input", check);
  check();
})();
