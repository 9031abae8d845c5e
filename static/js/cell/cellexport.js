// The cell view's PNG and SVG download (DOM glue), as the charts offer PNG through Plotly's
// toolbar: a standalone copy of the drawn <svg> with the page's .cell-svg style rules inside
// it, saved as it is (SVG) or drawn twice as large on a canvas (PNG).

import { t } from "../core/i18n.js";

const SCALE = 2;

/** The .cell-svg rules of the page's style sheets, as one text. */
function cellRules() {
  const out = [];
  for (const sheet of document.styleSheets) {
    let rules;
    try {
      rules = sheet.cssRules;
    } catch {
      continue; // a sheet from another origin (none here) cannot be read
    }
    for (const rule of rules) if (rule.selectorText && rule.selectorText.includes(".cell-svg")) out.push(rule.cssText);
  }
  return out.join("\n");
}

/** The drawn cell as a standalone SVG document: {text, width, height}. */
export function standaloneSvg(svgEl) {
  const clone = svgEl.cloneNode(true);
  const [, , width, height] = (svgEl.getAttribute("viewBox") || "0 0 960 540").split(/\s+/).map(Number);
  clone.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  clone.setAttribute("width", String(width));
  clone.setAttribute("height", String(height));
  const style = document.createElementNS("http://www.w3.org/2000/svg", "style");
  const font = getComputedStyle(svgEl).fontFamily || "sans-serif";
  style.textContent = `svg { font-family: ${font}; background: #ffffff; }\n${cellRules()}`;
  clone.insertBefore(style, clone.firstChild);
  const background = document.createElementNS("http://www.w3.org/2000/svg", "rect");
  Object.entries({ x: 0, y: 0, width, height, fill: "#ffffff" }).forEach(([k, v]) => background.setAttribute(k, String(v)));
  clone.insertBefore(background, style.nextSibling);
  return { text: new XMLSerializer().serializeToString(clone), width, height };
}

function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function exportSvg(svgEl, filename = "cell-view.svg") {
  const { text } = standaloneSvg(svgEl);
  download(new Blob([text], { type: "image/svg+xml" }), filename);
}

export function exportPng(svgEl, filename = "cell-view.png") {
  const { text, width, height } = standaloneSvg(svgEl);
  const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
  const img = new Image();
  return new Promise((resolve, reject) => {
    img.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(width * SCALE);
      canvas.height = Math.round(height * SCALE);
      const ctx = canvas.getContext("2d");
      ctx.scale(SCALE, SCALE);
      ctx.drawImage(img, 0, 0, width, height);
      URL.revokeObjectURL(url);
      canvas.toBlob((blob) => {
        if (blob) download(blob, filename);
        resolve();
      }, "image/png");
    };
    img.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error("the cell view could not be drawn as an image"));
    };
    img.src = url;
  });
}

/** Two buttons, PNG and SVG, placed before `element` (the cell view), labelled in the page's language. */
export function addCellExport(element) {
  const box = document.createElement("div");
  box.className = "cell-export";
  box.setAttribute("data-testid", "cell-export");
  const buttons = ["png", "svg"].map((format) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.dataset.format = format;
    b.setAttribute("data-testid", `cell-export-${format}`);
    b.addEventListener("click", () => {
      const svgEl = element.querySelector("svg.cell-svg");
      if (!svgEl) return;
      if (format === "svg") exportSvg(svgEl);
      else exportPng(svgEl);
    });
    return b;
  });
  const label = () => {
    for (const b of buttons) {
      const format = b.dataset.format.toUpperCase();
      b.textContent = t(b.dataset.format === "png" ? "cell.exportPng" : "cell.exportSvg");
      b.setAttribute("aria-label", t("cell.exportLabel", { format }));
      b.title = t("cell.exportLabel", { format });
    }
  };
  label();
  document.addEventListener("viz:lang", label);
  box.append(...buttons);
  element.before(box);
  return box;
}
