// The cell view's box on a narrow screen (DOM glue).  The SVG scales to the box's width as long
// as its smallest text stays legible (MIN_TEXT_PX); below that it keeps that size and the box
// scrolls sideways.  Then the box says so: a fade on each side that has more, a short hint
// above it, and the box joins the tab order (arrow keys scroll it) under an accessible name.

import { registerStrings, t } from "../core/i18n.js";

export const en = {
  "cellScroll.hint": "The cell is wider than the screen: scroll it sideways (or focus it and use ← →).",
  "cellScroll.label": "Cell view, scrolls sideways",
};
export const ko = {
  "cellScroll.hint": "셀이 화면보다 넓어요. 옆으로 밀어서 보세요(또는 셀을 선택하고 ← → 키를 쓰세요).",
  "cellScroll.label": "셀 보기, 옆으로 밀 수 있어요",
};
registerStrings({ en, ko });

/** The smallest text of the cell view, rendered, in CSS px (a <text>'s own size, not a subscript's). */
export const MIN_TEXT_PX = 9;

/**
 * The narrowest the cell's SVG may be drawn: its viewBox width scaled so that its smallest
 * font (in user units) renders at MIN_TEXT_PX.
 */
export function minSvgWidth(viewWidth, smallestFont, minText = MIN_TEXT_PX) {
  if (!(smallestFont > 0) || !(viewWidth > 0)) return 0;
  return Math.ceil((viewWidth * minText) / smallestFont);
}

const KEY_STEP = 48; // px per arrow key press

/** Which sides of a scroll box have more to show: {left, right}. */
export function moreSides({ scrollLeft, clientWidth, scrollWidth }) {
  const slack = 1; // sub-pixel widths
  return { left: scrollLeft > slack, right: scrollLeft + clientWidth < scrollWidth - slack };
}

/**
 * Wrap the cell view's element in a box that shows its fades, put the hint before it, and
 * keep both (and the element's tab stop) up to date.  Returns {fit(svg)}: call it after each
 * build with the new <svg>.
 */
export function createCellScroll(element) {
  const wrap = document.createElement("div");
  wrap.className = "cell-scroll";
  const hint = document.createElement("p");
  hint.className = "hint cell-scroll-hint";
  hint.setAttribute("data-testid", "cell-scroll-hint");
  hint.hidden = true;
  element.replaceWith(wrap);
  wrap.append(element);
  wrap.before(hint); // outside the box, so the fades cover the cell only
  let madeTabbable = false;

  function update() {
    const more = moreSides(element);
    const overflow = element.scrollWidth > element.clientWidth + 1;
    wrap.dataset.moreLeft = String(more.left);
    wrap.dataset.moreRight = String(more.right);
    wrap.dataset.overflow = String(overflow);
    hint.hidden = !overflow;
    if (overflow) {
      element.setAttribute("role", "region");
      element.setAttribute("aria-label", t("cellScroll.label"));
      if (element.tabIndex !== 0) {
        element.tabIndex = 0;
        madeTabbable = true;
      }
    } else {
      element.removeAttribute("role");
      element.removeAttribute("aria-label");
      // Still focusable from the page's own code (detail.js's focusCell), out of the tab order.
      if (madeTabbable) element.tabIndex = -1;
      madeTabbable = false;
    }
  }

  function label() {
    hint.textContent = t("cellScroll.hint");
    if (element.hasAttribute("aria-label")) element.setAttribute("aria-label", t("cellScroll.label"));
  }

  // Keyboard: while the box scrolls and has the focus, ← → (and Home, End) scroll it.  The
  // page's own step keys (diagram/player.js, on the document) are left to every other target.
  element.addEventListener("keydown", (event) => {
    if (event.target !== element || wrap.dataset.overflow !== "true") return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const by = { ArrowRight: KEY_STEP, ArrowLeft: -KEY_STEP }[event.key];
    if (by !== undefined) element.scrollBy({ left: by });
    else if (event.key === "Home") element.scrollTo({ left: 0 });
    else if (event.key === "End") element.scrollTo({ left: element.scrollWidth });
    else return;
    event.preventDefault();
    event.stopPropagation();
  });
  element.addEventListener("scroll", update, { passive: true });
  if (typeof ResizeObserver === "function") new ResizeObserver(update).observe(element);
  document.addEventListener("viz:lang", label);
  label();

  return {
    /** A new SVG in the element: give it its legible minimum width, then re-check the box. */
    fit(svgEl) {
      let smallest = Infinity;
      for (const text of svgEl.querySelectorAll("text")) {
        const size = parseFloat(getComputedStyle(text).fontSize);
        if (size > 0) smallest = Math.min(smallest, size);
      }
      const width = minSvgWidth(svgEl.viewBox.baseVal.width, smallest);
      svgEl.style.minWidth = width ? `${width}px` : "";
      update();
    },
    /**
     * Scroll the box (never the page) the least that brings these elements into sight: all of
     * them if they fit, else their left end.  For the explanation's emphasised nodes.
     */
    reveal(elements) {
      if (wrap.dataset.overflow !== "true" || !elements.length || !element.clientWidth) return;
      const box = element.getBoundingClientRect();
      let lo = Infinity;
      let hi = -Infinity;
      for (const el of elements) {
        const r = el.getBoundingClientRect();
        if (!r.width) continue;
        lo = Math.min(lo, r.left - box.left + element.scrollLeft);
        hi = Math.max(hi, r.right - box.left + element.scrollLeft);
      }
      if (!Number.isFinite(lo)) return;
      const pad = 12;
      const view = element.clientWidth;
      let left = element.scrollLeft;
      if (hi - lo + 2 * pad > view || lo - pad < left) left = lo - pad;
      else if (hi + pad > left + view) left = hi + pad - view;
      if (Math.abs(left - element.scrollLeft) >= 1) element.scrollLeft = Math.max(0, left);
    },
    update,
  };
}
