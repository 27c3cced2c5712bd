// The live wait of the phone sign-in page: Server-Sent Events, or, where
// they fail, a long poll. Either only says "ready"; the session is taken
// by loading the finish link, so it lands in this browser's cookie.
"use strict";
(function () {
  const state = document.getElementById("device-state");
  if (!state) return;
  const finish = state.dataset.finish;
  const again = state.dataset.again;
  let done = false;
  function go(word) {
    if (done) return;
    if (word === "ready") { done = true; window.location.assign(finish); }
    else if (word === "over") { done = true; window.location.assign(again); }
  }
  async function poll() {
    let failures = 0;
    while (!done && failures < 5) {
      try {
        const res = await fetch(state.dataset.status, { credentials: "same-origin", cache: "no-store" });
        if (!res.ok) throw new Error(String(res.status));
        failures = 0;
        go((await res.text()).trim());
      } catch (e) {
        failures += 1;
        await new Promise(function (r) { setTimeout(r, 2000 * failures); });
      }
    }
  }
  if (!("EventSource" in window)) { poll(); return; }
  const events = new EventSource(state.dataset.events);
  events.addEventListener("ready", function () { events.close(); go("ready"); });
  events.addEventListener("over", function () { events.close(); go("over"); });
  events.onerror = function () {
    // Closed before an answer (a proxy that buffers, a dropped line): poll.
    if (done) return;
    events.close();
    poll();
  };
})();
