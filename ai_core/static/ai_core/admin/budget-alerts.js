// Budget alert banner for every Wagtail admin page (loaded by the insert_global_admin_js hook).
// The server decides who sees what: the banner URL answers 204 when there is nothing to show.
(() => {
  const script = document.currentScript;
  const url = script && script.dataset.bannerUrl;
  if (!url) return;

  const show = async () => {
    const content = document.querySelector('#main > .content');
    if (!content) return;
    const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } });
    if (response.status !== 200) return;
    const holder = document.createElement('div');
    holder.innerHTML = await response.text();
    const banner = holder.querySelector('[data-budget-alert-banner]');
    if (!banner) return;
    // After acknowledging, come back to the page the banner was shown on.
    banner.querySelectorAll('input[name="next"]').forEach((input) => {
      input.value = window.location.pathname + window.location.search;
    });
    const messages = content.querySelector(':scope > .messages');
    if (messages) messages.after(banner);
    else content.prepend(banner);
  };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', show);
  else show();
})();
