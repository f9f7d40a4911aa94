// Approve with edits: refresh the diff of the model's text against the edit while the reviewer
// types. The server renders (and escapes) the diff, the same as "Preview changes" does without
// JavaScript; this only posts the form a moment after typing stops and swaps the fragment in.
(() => {
  const form = document.querySelector("form[data-review-edit-form]");
  const target = document.querySelector("[data-review-live-preview]");
  const textarea = form && form.querySelector("textarea[name='edited_text']");
  if (!form || !target || !textarea) return;

  let timer = null;
  let controller = null;

  async function refresh() {
    if (controller) controller.abort();
    controller = new AbortController();
    const body = new FormData(form);
    body.set("preview", "1");
    const response = await fetch(form.action || window.location.href, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-Review-Preview": "fragment" },
      signal: controller.signal,
    });
    if (!response.ok) {
      target.replaceChildren();
      return;
    }
    const fragment = new DOMParser().parseFromString(await response.text(), "text/html");
    target.replaceChildren(...Array.from(fragment.body.childNodes, (node) => document.importNode(node, true)));
  }

  textarea.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => refresh().catch(() => {}), 300);
  });
})();
