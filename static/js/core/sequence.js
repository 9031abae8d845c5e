// Numeric sequences as text: the editor's format and the URL's compact one.  Pure: no DOM.
//
// Editor: one step per line, values separated by spaces or commas; for targets an empty
// line, "-" or "null" marks a step that is not scored.
// URL: rows joined by ";", values by ","; an empty row is a null target.

const NULL_WORDS = new Set(["", "-", "–", "null", "none", "_"]);
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function parseValue(token, integers) {
  if (!NUMBER.test(token)) return null;
  const v = Number(token);
  if (!Number.isFinite(v)) return null;
  if (integers && !Number.isInteger(v)) return null;
  return v;
}

/**
 * Parse the editor's text.  Options: `integers` (class targets, one per line), `nulls`
 * (allow skipped steps).  Returns {rows} or {error: {key, params}} (an i18n key).
 * Rows are arrays of numbers, or null for a skipped step; with `integers`, rows are the
 * plain numbers (one class index per step).
 */
export function parseRows(text, { integers = false, nulls = false } = {}) {
  const lines = String(text).replace(/\r/g, "").split("\n");
  while (lines.length && lines.at(-1).trim() === "") lines.pop();
  if (!lines.length) return { error: { key: "error.empty", params: {} } };
  const rows = [];
  let width = null;
  for (let k = 0; k < lines.length; k += 1) {
    const line = lines[k].trim();
    const where = { line: k + 1 };
    if (NULL_WORDS.has(line.toLowerCase())) {
      if (!nulls) return { error: { key: "error.nullInput", params: where } };
      rows.push(null);
      continue;
    }
    const tokens = line.split(/[\s,;]+/).filter(Boolean);
    const row = [];
    for (const token of tokens) {
      if (nulls && !integers && NULL_WORDS.has(token.toLowerCase())) {
        row.push(null);
        continue;
      }
      const v = parseValue(token, integers);
      if (v === null) {
        return { error: { key: integers ? "error.parseInteger" : "error.parseNumber", params: { ...where, token } } };
      }
      row.push(v);
    }
    if (integers) {
      if (row.length !== 1) return { error: { key: "error.ragged", params: { ...where, got: row.length, want: 1 } } };
      rows.push(row[0]);
      continue;
    }
    if (width === null) width = row.length;
    else if (row.length !== width) {
      return { error: { key: "error.ragged", params: { ...where, got: row.length, want: width } } };
    }
    rows.push(row);
  }
  return { rows };
}

const cell = (v) => (v === null || v === undefined ? "" : String(v));
const isNullRow = (row) => row === null || row === undefined || (Array.isArray(row) && row.every((v) => v === null));

/** Rows back to the editor's text (a skipped step shows as "-"). */
export function formatRows(rows) {
  if (!rows) return "";
  const line = (row) => (isNullRow(row) ? "-" : Array.isArray(row) ? row.map((v) => (v === null ? "-" : String(v))).join(" ") : String(row));
  return rows.map(line).join("\n");
}

/** Null rows (skipped steps) widened to `width` nulls, as the API's MSE targets need. */
export function widenNullRows(rows) {
  const first = rows.find((row) => Array.isArray(row));
  const width = first ? first.length : 1;
  return rows.map((row) => (Array.isArray(row) ? row : new Array(width).fill(null)));
}

/** Rows to the URL's compact text: "0.1,2;0.3,4" (a class-index list: "1;;3"). */
export function encodeRows(rows) {
  return rows.map((row) => (Array.isArray(row) ? row.map(cell).join(",") : cell(row))).join(";");
}

/**
 * The URL's compact text back to rows; `integers` for class-index lists.  Returns null if
 * it does not parse (a hand-edited link), so the caller can fall back to the preset.
 */
export function decodeRows(text, { integers = false } = {}) {
  if (typeof text !== "string" || text === "") return null;
  const rows = [];
  for (const part of text.split(";")) {
    if (integers) {
      if (part === "") rows.push(null);
      else {
        const v = parseValue(part, true);
        if (v === null) return null;
        rows.push(v);
      }
      continue;
    }
    if (part === "") {
      rows.push(null);
      continue;
    }
    const row = [];
    for (const token of part.split(",")) {
      if (token === "") row.push(null);
      else {
        const v = parseValue(token, false);
        if (v === null) return null;
        row.push(v);
      }
    }
    rows.push(row);
  }
  return rows;
}

/** Same values, same shape. */
export function sameRows(a, b) {
  if (a === b) return true;
  if (!a || !b) return false;
  return encodeRows(a) === encodeRows(b);
}
