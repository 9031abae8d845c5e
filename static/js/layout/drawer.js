// The controls as a drawer on narrow screens (DOM glue).  Below the sidebar breakpoint
// (app.css, 980 px) the page is one column and the control form is folded away under its
// heading; the drawer button opens and closes it (aria-expanded), Escape closes it and gives
// the focus back to the button.  On wide screens the button is hidden and the sidebar's own
// collapse button (controls/controls.js) applies instead.

import { relabel } from "../core/labels.js";

const NARROW = window.matchMedia("(max-width: 979.98px)");

const app = document.getElementById("app");
const button = document.getElementById("controls-drawer");
const controls = document.getElementById("controls");

function setOpen(open) {
  app.dataset.drawer = open ? "open" : "closed";
  button.setAttribute("aria-expanded", String(open));
  relabel(button, open ? "controls.hide" : "controls.show", "text");
  // The diagram and charts measure their boxes on resize.
  window.dispatchEvent(new Event("resize"));
}

const isOpen = () => app.dataset.drawer === "open";

button.addEventListener("click", () => setOpen(!isOpen()));

controls.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || !NARROW.matches || !isOpen()) return;
  event.preventDefault();
  event.stopPropagation();
  setOpen(false);
  button.focus();
});
