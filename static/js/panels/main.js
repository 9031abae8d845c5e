// Entry point of the panels below the cell view (DOM glue): the gradient-flow comparison,
// saved models and live training.  They follow the page through its document events:
//   viz:run  {run, config}  a new run is on screen
//   viz:lang {lang}         the language changed: re-label and redraw
// and ask it to show a saved model with viz:use-model {id, text | inputs}.

import "./strings.js"; // registers the panels' strings before anything is labelled
import { api } from "../core/server.js";
import { setCells } from "../core/cells.js";
import { applyLabels } from "../core/labels.js";
import { createGradflow } from "./gradflow.js";
import { createModels } from "./models.js";
import { createTraining } from "./training.js";

async function main() {
  const root = document.getElementById("panels");
  if (!root) return;
  // Listen before the first await: the page's first Run can finish before /api/limits
  // answers, and a run announced before the panels exist must still reach them.
  let panels = null;
  let lastRun = null;
  const onRun = (config) => {
    panels.gradflow.onRun(config);
    panels.models.onRun(config);
  };
  document.addEventListener("viz:run", (event) => {
    lastRun = event.detail;
    if (panels) onRun(event.detail.config);
  });
  const limits = await api("/api/limits");
  const readOnly = Boolean(limits.ok && limits.data.read_only);
  if (limits.ok) setCells(limits.data.cells);
  const gradflow = createGradflow(root);
  const training = createTraining(root, { readOnly, limits: limits.ok ? limits.data.limits : {} });
  const models = createModels(root, { readOnly });
  applyLabels(root);
  panels = { gradflow, models };
  if (lastRun) onRun(lastRun.config);
  document.addEventListener("viz:models-changed", () => models.refresh());
  document.addEventListener("viz:lang", () => {
    applyLabels(root);
    gradflow.redraw();
    training.redraw();
    models.redraw();
  });
  root.dataset.ready = "true";
}

main();
