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
