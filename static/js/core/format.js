// Numbers and text for display.  Pure: no DOM.

/** A number with `digits` significant digits: 0.1235, 12.35, 1.235e-7, -3.000. */
export function sig(v, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (v === 0) return "0";
  const a = Math.abs(v);
  const text = a >= 1e-3 && a < 1e5 ? v.toPrecision(digits) : v.toExponential(digits - 1);
  return text.replace("-", "−");
}

export const sig4 = (v) => sig(v, 4);

const HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escape text for Plotly's text and hover labels (which read a subset of HTML). */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]);
}

const VISIBLE = { " ": "␣", "\n": "↵", "\r": "↵", "\t": "⇥" };

/** A character made visible (space, newline, tab get symbols); not yet escaped. */
export function visibleChar(ch) {
  if (ch === null || ch === undefined) return "";
  return VISIBLE[ch] ?? ch;
}

const SUBSCRIPT_DIGITS = "₀₁₂₃₄₅₆₇₈₉";

/** 12 -> "₁₂" */
export function subscript(n) {
  return String(n).replace(/\d/g, (d) => SUBSCRIPT_DIGITS[Number(d)]);
}

/** Euclidean norm of a vector. */
export function norm(vec) {
  let s = 0;
  for (let k = 0; k < vec.length; k += 1) s += vec[k] * vec[k];
  return Math.sqrt(s);
}

/** Largest absolute value of a vector. */
export function maxAbs(vec) {
  let m = 0;
  for (let k = 0; k < vec.length; k += 1) m = Math.max(m, Math.abs(vec[k]));
  return m;
}

/** Root mean square of a vector. */
export function rms(vec) {
  return vec.length ? norm(vec) / Math.sqrt(vec.length) : 0;
}

/** Text cut to at most `n` characters (code points), an ellipsis marking the cut. */
export function clip(text, n) {
  const chars = [...String(text ?? "")];
  return chars.length > n ? chars.slice(0, Math.max(1, n - 1)).join("") + "…" : chars.join("");
}

/** A probability in two significant digits without the leading zero: .21, .056, 1. */
export function prob(p) {
  if (p === null || p === undefined || !Number.isFinite(p)) return "–";
  if (p >= 0.995) return "1";
  return sig(p, 2).replace(/^0\./, ".");
}
