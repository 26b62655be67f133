/* keras_gans AI Art Gallery: the lightbox (keyboard: Enter opens, arrows move, Escape closes) and
   "paint a new one" (only against the live server; a file:// page says so). No dependencies. */
(function () {
  "use strict";

  function setupLightbox() {
    var dialog = document.querySelector("[data-lightbox]");
    var links = Array.prototype.slice.call(document.querySelectorAll("[data-lightbox-wall] a.painting"));
    if (!dialog || !links.length) return;
    var image = dialog.querySelector("[data-lightbox-image]");
    var caption = dialog.querySelector("[data-lightbox-caption]");
    var download = dialog.querySelector("[data-lightbox-download]");
    var permalink = dialog.querySelector("[data-lightbox-permalink]");
    var current = -1;

    function show(index) {
      current = (index + links.length) % links.length;
      var link = links[current];
      var thumbnail = link.querySelector("img");
      image.src = link.getAttribute("data-full");
      image.alt = thumbnail ? thumbnail.alt : "";
      caption.textContent = link.getAttribute("data-caption");
      download.href = link.getAttribute("data-full");
      download.setAttribute("download", link.getAttribute("data-key") + ".png");
      permalink.href = "#" + link.getAttribute("data-key");
      if (window.history && history.replaceState) history.replaceState(null, "", "#" + link.getAttribute("data-key"));
    }
    function open(index) {
      show(index);
      if (!dialog.open) dialog.showModal();
      dialog.querySelector("[data-lightbox-close]").focus();
    }
    function close() { if (dialog.open) dialog.close(); }

    links.forEach(function (link, index) {
      link.addEventListener("click", function (event) { event.preventDefault(); open(index); });
    });
    dialog.querySelector("[data-lightbox-prev]").addEventListener("click", function () { show(current - 1); });
    dialog.querySelector("[data-lightbox-next]").addEventListener("click", function () { show(current + 1); });
    dialog.querySelector("[data-lightbox-close]").addEventListener("click", close);
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "ArrowLeft") { event.preventDefault(); show(current - 1); }
      else if (event.key === "ArrowRight") { event.preventDefault(); show(current + 1); }
    });
    dialog.addEventListener("click", function (event) { if (event.target === dialog) close(); });
    dialog.addEventListener("close", function () {
      if (window.history && history.replaceState) history.replaceState(null, "", location.pathname + location.search);
      // Back to where the visitor is on the wall: after the dialog's own focus restoration,
      // which would return to the painting that opened it, not the one last shown.
      var shown = current;
      if (shown >= 0) setTimeout(function () { links[shown].focus(); }, 0);
    });
    function openFromHash() {  // a permalink, on arrival or when followed within the page
      var wanted = decodeURIComponent(location.hash.replace(/^#/, ""));
      if (!wanted) return;
      links.forEach(function (link, index) { if (link.getAttribute("data-key") === wanted) open(index); });
    }
    window.addEventListener("hashchange", openFromHash);
    openFromHash();
  }

  function setupPainting() {
    var section = document.querySelector(".paint-new");
    if (!section) return;
    var form = section.querySelector("[data-paint-form]");
    var status = section.querySelector(".paint-status");
    var result = section.querySelector(".paint-result");
    var image = section.querySelector("[data-paint-image]");
    if (location.protocol === "file:") {
      form.hidden = true;
      section.querySelector(".paint-offline").hidden = false;
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var parameters = new URLSearchParams();
      parameters.set("run", section.getAttribute("data-run"));
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name && field.value !== "") parameters.set(field.name, field.value);
      });
      parameters.set("format", "webp");
      status.textContent = "Painting...";
      fetch("/api/paint?" + parameters.toString()).then(function (response) {
        if (!response.ok) {
          return response.json().then(function (body) { throw new Error(body.error || response.statusText); },
                                      function () { throw new Error(response.statusText); });
        }
        return response.blob();
      }).then(function (blob) {
        if (image.src && image.src.indexOf("blob:") === 0) URL.revokeObjectURL(image.src);
        image.src = URL.createObjectURL(blob);
        var description = "seed " + parameters.get("seed") +
          (parameters.get("class") ? ", " + parameters.get("class") : "") +
          (parameters.get("psi") ? ", truncation " + parameters.get("psi") : "");
        image.alt = "A new painting, " + description;
        result.querySelector("figcaption").textContent = description;
        result.hidden = false;
        status.textContent = "Painted " + description + ".";
      }).catch(function (error) { status.textContent = "Could not paint: " + error.message; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { setupLightbox(); setupPainting(); });
})();
