/* Backprop Q&A composer widget: while a student writes a forum post, list the knowledge-base entries that match it.
 *
 *   <script src="https://API/widget.js" data-api="https://API" data-textarea="#reply-control textarea.d-editor-input"
 *           data-title="#reply-title" data-count="3" data-pause="400" async></script>
 *
 * Every attribute is optional. No dependencies; served by the API itself (GET /widget.js).
 */
(function () {
  "use strict";

  // Settings from the script tag's data- attributes; the API defaults to the origin the script came from.
  var tag = document.currentScript || {dataset: {}, src: location.href};
  var data = tag.dataset;
  var API = (data.api || new URL(tag.src, location.href).origin).replace(/\/+$/, "");
  var TEXTAREA = data.textarea || "#reply-control textarea.d-editor-input";  // Discourse's composer
  var TITLE = data.title || "#reply-title";
  var COUNT = Math.min(Math.max(parseInt(data.count, 10) || 3, 1), 10);
  var PAUSE = Math.max(parseInt(data.pause, 10) || 400, 50);  // ms without a keystroke before asking
  var MIN_CHARS = 10;    // shorter drafts match everything and nothing
  var MAX_CHARS = 1000;  // the model reads ~256 tokens anyway, and the text travels in the URL

  var state = {timer: 0, request: null, panel: null, quietUntil: 0};

  // The panel's look: the forum's own colours where it defines them (Discourse's CSS variables), never wider than
  // the textarea's column.
  var style = document.createElement("style");
  style.textContent =
    ".bpqa-panel{box-sizing:border-box;max-width:100%;margin:6px 0;padding:8px 10px;border:1px solid " +
    "var(--primary-low,#d0d7de);border-radius:6px;background:var(--secondary,#fff);color:var(--primary,#24292f);" +
    "font:14px/1.4 system-ui,sans-serif}.bpqa-panel[hidden]{display:none}" +
    ".bpqa-panel p{margin:0 0 4px;font-size:12px;color:var(--primary-medium,#57606a)}" +
    ".bpqa-panel ul{margin:0;padding-left:18px}.bpqa-panel li{margin:2px 0}" +
    ".bpqa-panel a{color:var(--tertiary,#0969da);overflow-wrap:anywhere}";
  document.head.appendChild(style);

  // One input listener for the whole page: Discourse creates the composer long after this script runs, and a
  // passive listener that only (re)starts a timer never slows typing down.
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!(field instanceof Element) || !(field.matches(TEXTAREA) || field.matches(TITLE))) return;
    clearTimeout(state.timer);
    state.timer = setTimeout(lookUp, PAUSE);
  }, {passive: true, capture: true});

  // After a pause: the title and the text go to /v1/similar; a newer pause cancels the request before it.
  function lookUp() {
    var textarea = document.querySelector(TEXTAREA);
    if (!textarea) return;
    var title = document.querySelector(TITLE);
    var text = ((title && title.value ? title.value + "\n" : "") + textarea.value).trim().slice(0, MAX_CHARS);
    if (state.request) state.request.abort();
    state.request = null;
    if (text.length < MIN_CHARS) return hide();
    if (Date.now() < state.quietUntil) return;  // rate-limited: wait as long as the API asked
    var request = state.request = new AbortController();
    var url = API + "/v1/similar?k=" + COUNT + "&text=" + encodeURIComponent(text);
    fetch(url, {signal: request.signal, credentials: "omit"})
      .then(function (response) {
        if (response.status === 429) {
          state.quietUntil = Date.now() + 1000 * (parseInt(response.headers.get("Retry-After"), 10) || 30);
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (body) {
        if (request.signal.aborted) return;  // the student typed on while the body arrived
        show(textarea, body.entries || []);
      })
      .catch(function () {
        // Unreachable, rate-limited, loading or aborted: say nothing to the student; a stale panel goes away.
        if (!request.signal.aborted) hide();
      });
  }

  // The panel sits right under the textarea (under Discourse's wrapper around it) and holds links only: text
  // from the API goes in as text, never as HTML.
  function show(textarea, entries) {
    if (!entries.length) return hide();
    var panel = state.panel;
    var anchor = textarea.closest(".d-editor-textarea-wrapper") || textarea;
    if (!panel) {
      panel = state.panel = document.createElement("aside");
      panel.className = "bpqa-panel";
      panel.setAttribute("aria-label", "Answers that may help");
      panel.setAttribute("aria-live", "polite");
    }
    if (anchor.nextSibling !== panel) anchor.insertAdjacentElement("afterend", panel);
    var heading = document.createElement("p");
    heading.textContent = "These answers may already cover your question:";
    var list = document.createElement("ul");
    entries.slice(0, COUNT).forEach(function (entry) {
      if (!/^https?:\/\//i.test(entry.permalink)) return;  // a link, never a javascript: URL
      var link = document.createElement("a");
      link.href = entry.permalink;
      link.textContent = entry.title;
      link.title = entry.summary || "";
      link.target = "_blank";
      link.rel = "noopener";
      var item = document.createElement("li");
      item.appendChild(link);
      list.appendChild(item);
    });
    panel.replaceChildren(heading, list);
    panel.hidden = false;
  }

  function hide() {
    if (state.panel) state.panel.hidden = true;
  }
})();
