// A parsed trace moved from a worker to the page cheaply.  Pure: no DOM.
//
// Copying nested arrays between threads (structured clone) costs about a second per million
// numbers on the receiving thread, in one task.  Instead every matrix of numbers (rows of
// equal length) goes as one Float64Array whose buffer is transferred (no copy), and the page
// rebuilds plain arrays from it in slices of a few hundred thousand numbers, yielding
// between them, so no task is long.  The rebuilt response is the parsed JSON exactly
// (a JSON number is a float64; integers stay integers).

const MARK = "__lstmvisMatrix";
/** Matrices smaller than this stay as they are (cloning them is cheap). */
const SMALL = 4096;

function matrixWidth(value) {
  if (!Array.isArray(value) || !value.length || !Array.isArray(value[0])) return -1;
  const width = value[0].length;
  if (!width) return -1;
  for (const row of value) {
    if (!Array.isArray(row) || row.length !== width) return -1;
    for (let u = 0; u < width; u += 1) if (typeof row[u] !== "number") return -1;
  }
  return width;
}

/**
 * `tree` with every numeric matrix of at least SMALL numbers replaced by a marker
 * {rows, width, buffer index}: {tree, buffers} (the buffers to transfer).
 */
export function packMatrices(tree) {
  const buffers = [];
  const walk = (value) => {
    if (Array.isArray(value)) {
      const width = matrixWidth(value);
      if (width > 0 && value.length * width >= SMALL) {
        const flat = new Float64Array(value.length * width);
        value.forEach((row, t) => flat.set(row, t * width));
        buffers.push(flat.buffer);
        return { [MARK]: buffers.length - 1, rows: value.length, width };
      }
      return value.map(walk);
    }
    if (value && typeof value === "object") {
      const out = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v);
      return out;
    }
    return value;
  };
  return { tree: walk(tree), buffers };
}

/**
 * The inverse of packMatrices, a slice at a time: a generator that rebuilds the tree in
 * place and yields after every `budget` numbers; its return value is the tree.
 */
export function* unpackMatrices(tree, buffers, budget = 250_000) {
  let done = 0;
  function* rebuild(marker) {
    const flat = new Float64Array(buffers[marker[MARK]]);
    const { rows, width } = marker;
    const out = new Array(rows);
    for (let t = 0; t < rows; t += 1) {
      const row = new Array(width);
      const at = t * width;
      for (let u = 0; u < width; u += 1) row[u] = flat[at + u];
      out[t] = row;
      done += width;
      if (done >= budget) {
        done = 0;
        yield;
      }
    }
    return out;
  }
  function* walk(value) {
    if (Array.isArray(value)) {
      for (let k = 0; k < value.length; k += 1) value[k] = yield* walk(value[k]);
      return value;
    }
    if (value && typeof value === "object") {
      if (Object.hasOwn(value, MARK)) return yield* rebuild(value);
      for (const k of Object.keys(value)) value[k] = yield* walk(value[k]);
      return value;
    }
    return value;
  }
  return yield* walk(tree);
}

/** unpackMatrices all at once (tests; small trees). */
export function unpackAll(tree, buffers) {
  const it = unpackMatrices(tree, buffers, Infinity);
  let step = it.next();
  while (!step.done) step = it.next();
  return step.value;
}
