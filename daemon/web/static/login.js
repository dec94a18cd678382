// The login link's redirect carries the session key in its fragment. When
// the link was opened from another site or a file (cb dashboard opens a
// local file so the one-time code never shows in the process list), the
// browser withholds the SameSite=Strict cookie on that navigation and this
// page is served instead of the dashboard. Keep the key, then load the
// dashboard again from this origin, which sends the cookie.
'use strict';

(() => {
  const m = /(?:^#|&)key=([0-9a-f]{64})(?:&|$)/.exec(location.hash);
  if (!m) return;
  localStorage.setItem('cb-session-key', m[1]);
  location.replace(location.pathname + location.search);
})();
