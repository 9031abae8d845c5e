// The guided explanation: its steps in the seed's order, what each one highlights, and the
// small markup its texts use.  Pure: no DOM.
//
// Each step has a title and a body in i18n.js ("explain.<id>.title", "explain.<id>.body"),
// the pass it is told in (the view switches to it), the cell-view nodes it talks about and
// what it marks in the unrolled diagram (gate strips by name, the c or h rail), and
// optionally a `view` (an element id) the step is about, brought into sight and outlined,
// `questions` (ids in questions.js) answered from the live run, and `gradcheck` (a button
// that checks this run's gradients against finite differences).  Bodies may hold {T}-style
// placeholders the view fills from the live run (liveParams in questions.js).
//
// Body markup: [[f|forget gate f]] is a phrase in f's identity colour; **text** is bold;
// a blank line starts a new paragraph.

export const STEPS = Object.freeze([
  {
    id: "why",
    mode: "forward",
    nodes: ["c_prev", "mul_f", "add", "c_next", "f", "i", "o"],
    diagram: ["c", "f", "i", "o"],
  },
  {
    id: "order",
    mode: "forward",
    nodes: ["affine", "slice", "slice:f", "slice:i", "slice:g", "slice:o", "f", "i", "g", "o"],
    diagram: ["f", "i", "g", "o"],
  },
  { id: "forget", mode: "forward", nodes: ["f", "slice:f", "c_prev", "mul_f"], diagram: ["f", "c"] },
  { id: "candidate", mode: "forward", nodes: ["g", "slice:g"], diagram: ["g"] },
  { id: "input", mode: "forward", nodes: ["i", "slice:i", "g", "mul_ig", "add", "mul_f"], diagram: ["i", "g", "c"] },
  // (proj: the projection h_t = W_hr m_t, in an LSTM that has one.)
  { id: "output", mode: "forward", nodes: ["o", "slice:o", "add", "tanh_c", "mul_h", "proj", "h_next", "h_up"], diagram: ["o", "h"] },
  { id: "checkForward", mode: "forward", nodes: ["f", "c_prev", "mul_f", "i", "g", "mul_ig"], diagram: ["f", "i", "g", "c"], questions: ["keep", "write"] },
  { id: "twoWays", mode: "backward", nodes: ["h_next", "h_up", "mul_h", "proj"], diagram: ["h"] },
  {
    id: "gates",
    mode: "backward",
    nodes: ["mul_h", "proj", "tanh_c", "o", "add", "c_next", "mul_f", "mul_ig", "f", "i", "g"],
    diagram: ["f", "i", "g", "o", "c"],
  },
  {
    id: "slice",
    mode: "backward",
    nodes: ["slice", "slice:f", "slice:i", "slice:g", "slice:o", "affine", "x", "h_prev"],
    diagram: ["f", "i", "g", "o"],
  },
  { id: "vanishing", mode: "backward", nodes: ["c_prev", "mul_f", "f", "add", "c_next"], diagram: ["c", "f"] },
  // The measured version: the gradient-flow comparison below the cell view.
  { id: "compare", mode: "backward", nodes: ["c_prev", "mul_f", "c_next"], diagram: ["c", "h"], view: "gradflow" },
  { id: "checkBackward", mode: "backward", nodes: ["c_prev", "mul_f", "f", "c_next"], diagram: ["c", "f"], questions: ["edge", "closed"] },
  // Going further: what the seed's part 2 promised, each pointing at this run's numbers.
  { id: "weights", mode: "backward", nodes: ["affine", "slice", "x", "h_prev"], diagram: ["f", "i", "g", "o"] },
  { id: "firstGrad", mode: "backward", nodes: ["h_up", "h_next", "mul_h"], diagram: ["h"] },
  { id: "cellPath", mode: "backward", nodes: ["c_prev", "mul_f", "f", "add", "c_next"], diagram: ["c", "f"] },
  { id: "clipping", mode: "backward", nodes: ["affine"], diagram: ["h", "c"], view: "gradflow" },
  // (The GRU's graph has h_prev and h_next; in the LSTM's, f's edge is the highway it compares with.)
  { id: "gru", mode: "backward", nodes: ["h_prev", "h_next", "mul_f", "f"], diagram: ["h"] },
  { id: "gradcheck", mode: "backward", nodes: ["affine"], diagram: ["h", "c"], gradcheck: true },
  { id: "checkFurther", mode: "backward", nodes: ["add", "tanh_c", "mul_h", "c_next"], diagram: ["c"], questions: ["throughH", "init"] },
]);

/** The parts of the walk, each ending in a step with questions: forward, backward, further. */
export function partOf(step) {
  const k = STEPS.indexOf(step);
  if (k <= STEPS.findIndex((s) => s.id === "checkForward")) return "forward";
  if (k <= STEPS.findIndex((s) => s.id === "checkBackward")) return "backward";
  return "further";
}

/** The step at index k (clamped). */
export function stepAt(k) {
  return STEPS[Math.max(0, Math.min(STEPS.length - 1, k))];
}

/** Every i18n key the explanation needs. */
export function explainKeys() {
  return STEPS.flatMap((s) => [`explain.${s.id}.title`, `explain.${s.id}.body`]);
}

/** Nodes of a step that exist in a graph (the walk is about the LSTM; others show what they share). */
export function visibleNodes(step, graph) {
  const ids = new Set(graph.nodes.map((n) => n.id));
  return step.nodes.filter((id) => ids.has(id));
}

const TOKEN = /\[\[([a-z]+)\|([^\]]+)\]\]|\*\*([^*]+)\*\*/g;

/**
 * A body text as paragraphs of runs: [[{text, name?, strong?}, ...], ...].  Everything is
 * plain text for textContent; the markup only chooses colours and weight.
 */
export function richText(text) {
  return String(text)
    .split(/\n\s*\n/)
    .map((para) => {
      const runs = [];
      let last = 0;
      for (const match of para.matchAll(TOKEN)) {
        if (match.index > last) runs.push({ text: para.slice(last, match.index) });
        if (match[1]) runs.push({ text: match[2], name: match[1] });
        else runs.push({ text: match[3], strong: true });
        last = match.index + match[0].length;
      }
      if (last < para.length) runs.push({ text: para.slice(last) });
      return runs;
    })
    .filter((runs) => runs.length);
}
