// Back to the relying party at once: follow the return link or submit the
// return form (both work by hand without script).
"use strict";
(function () {
  const form = document.getElementById("oidc-return-form");
  if (form) { form.submit(); return; }
  const link = document.getElementById("oidc-return");
  if (link) window.location.replace(link.href);
})();
