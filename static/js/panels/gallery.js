// The gallery of trained models above the diagram (DOM glue): one card per model the
// project trained (GET /api/gallery), the one on screen with what to look for, the units
// it watches, the steps that matter and its measured figures; and a random network.
//
// It asks the page, through document events:
//   "viz:use-model" detail {id, text | inputs, loss, layer, units, step, mode}  open a model
//   "viz:random"    detail {}                                                   a random, untrained network
//   "viz:jump"      detail {step}                                               go to a step (1-based)
// and follows it through "viz:run" (which model is on screen) and "viz:lang".

import { en as i18nEn, language, registerStrings, t } from "../core/i18n.js";
import { sig4 } from "../core/format.js";
import { el } from "./dom.js";
import { entryOfRun, keySteps, localized, openRequest, watchSelection } from "./gallerydata.js";

export const en = {
  "gallery.heading": "Trained models",
  "gallery.intro": "Small networks the project trained on the classic LSTM experiments. Open one to see its mechanism; every figure was measured on fresh sequences.",
  "gallery.random": "Random network",
  "gallery.random.hint": "untrained weights from a seed",
  "gallery.look": "What to look for",
  "gallery.randomOn": "A random, untrained network is on screen: its gates carry no meaning yet. Open a trained model to see what an LSTM learns.",
  "gallery.otherOn": "A model of your own is on screen.",
  "gallery.watch": "Selected in the cell view and the heatmaps:",
  "gallery.watchUnit": "{quantities} of unit {unit} (layer {layer})",
  "gallery.steps": "Steps that matter:",
  "gallery.step": "t = {t}",
  "gallery.metrics": "Measured",
  "gallery.unavailable": "The trained models could not be loaded.",
  "gallery.metric.mse": "mean squared error",
  "gallery.metric.baseline_mse": "error of always answering the mean",
  "gallery.metric.sum_unit_r": "cell unit vs the running sum (r)",
  "gallery.metric.i_marked": "input gate at marked steps",
  "gallery.metric.i_unmarked": "input gate at unmarked steps",
  "gallery.metric.accuracy": "accuracy",
  "gallery.metric.baseline_accuracy": "accuracy by guessing",
  "gallery.metric.first_unit_accuracy": "first choice read from its cell unit",
  "gallery.metric.first_unit_accuracy_before_second": "first choice read before the second arrives",
  "gallery.metric.second_unit_accuracy": "second choice read from its cell unit",
  "gallery.metric.recall_accuracy": "recall accuracy",
  "gallery.metric.readout_accuracy_worst_waiting_step": "symbols read from the cell, worst waiting step",
  "gallery.metric.readout_from_last_waiting_step_applied_to_first": "last step's read-out applied to the first",
  "gallery.metric.step_accuracy": "accuracy per step",
  "gallery.metric.baseline_step_accuracy": "accuracy per step without memory",
  "gallery.metric.sequence_accuracy": "whole sequences right",
  "gallery.metric.depth_unit_r": "cell unit vs nesting depth (r)",
  "gallery.metric.sequences_reaching_depth_8": "sequences reaching depth 8",
  "gallery.metric.strings_all_predictions_valid": "strings with every prediction valid",
  "gallery.metric.baseline_strings_without_memory": "the same without memory",
  "gallery.metric.choice_unit_accuracy_at_inner_end": "T/P choice read from the cell at the inner end",
  "gallery.metric.choice_unit_accuracy_inside": "T/P choice read from the cell inside",
};

export const ko = {
  "gallery.heading": "학습된 모델",
  "gallery.intro": "이 프로젝트가 고전적인 LSTM 실험으로 학습한 작은 신경망이에요. 하나를 열면 그 메커니즘을 볼 수 있어요. 모든 수치는 새 시퀀스에서 측정했어요.",
  "gallery.random": "무작위 신경망",
  "gallery.random.hint": "시드로 만든 학습 전 가중치",
  "gallery.look": "살펴볼 점",
  "gallery.randomOn": "지금은 학습하지 않은 무작위 신경망이에요. 게이트 값에 아직 의미가 없어요. LSTM이 무엇을 배우는지 보려면 학습된 모델을 열어 보세요.",
  "gallery.otherOn": "직접 가져온 모델을 보고 있어요.",
  "gallery.watch": "셀 보기와 히트맵에서 선택돼 있어요:",
  "gallery.watchUnit": "{layer}층 {unit}번 유닛의 {quantities}",
  "gallery.steps": "눈여겨볼 시점:",
  "gallery.step": "t = {t}",
  "gallery.metrics": "측정값",
  "gallery.unavailable": "학습된 모델을 불러오지 못했어요.",
  "gallery.metric.mse": "평균 제곱 오차",
  "gallery.metric.baseline_mse": "늘 평균으로 답할 때의 오차",
  "gallery.metric.sum_unit_r": "셀 유닛과 누적 합의 상관 (r)",
  "gallery.metric.i_marked": "표시된 시점의 입력 게이트",
  "gallery.metric.i_unmarked": "표시 없는 시점의 입력 게이트",
  "gallery.metric.accuracy": "정확도",
  "gallery.metric.baseline_accuracy": "찍었을 때의 정확도",
  "gallery.metric.first_unit_accuracy": "셀 유닛에서 읽은 첫 번째 선택",
  "gallery.metric.first_unit_accuracy_before_second": "두 번째가 오기 전에 읽은 첫 번째 선택",
  "gallery.metric.second_unit_accuracy": "셀 유닛에서 읽은 두 번째 선택",
  "gallery.metric.recall_accuracy": "기억해 낸 정확도",
  "gallery.metric.readout_accuracy_worst_waiting_step": "셀에서 읽은 기호, 가장 나쁜 대기 시점",
  "gallery.metric.readout_from_last_waiting_step_applied_to_first": "마지막 시점의 읽기를 첫 시점에 적용할 때",
  "gallery.metric.step_accuracy": "시점별 정확도",
  "gallery.metric.baseline_step_accuracy": "기억 없이 얻는 시점별 정확도",
  "gallery.metric.sequence_accuracy": "시퀀스 전체가 맞은 비율",
  "gallery.metric.depth_unit_r": "셀 유닛과 중첩 깊이의 상관 (r)",
  "gallery.metric.sequences_reaching_depth_8": "깊이 8에 닿는 시퀀스",
  "gallery.metric.strings_all_predictions_valid": "모든 예측이 유효한 문자열",
  "gallery.metric.baseline_strings_without_memory": "기억이 없을 때의 같은 비율",
  "gallery.metric.choice_unit_accuracy_at_inner_end": "안쪽 끝에서 셀로 읽은 T/P 선택",
  "gallery.metric.choice_unit_accuracy_inside": "안쪽에서 셀로 읽은 T/P 선택",
};

registerStrings({ en, ko });

const metricLabel = (name) => (Object.hasOwn(i18nEn, `gallery.metric.${name}`) ? t(`gallery.metric.${name}`) : name.replace(/_/g, " "));

const send = (type, detail = {}) => document.dispatchEvent(new CustomEvent(type, { detail }));

export function createGallery(section) {
  const view = { models: [], active: null, runConfig: null, failed: false };
  const list = el("div", { className: "gallery-list", role: "list", "data-testid": "gallery-list" });
  const look = el("div", { className: "gallery-look", "data-testid": "gallery-look", "aria-live": "polite" });
  const heading = el("h2", { className: "gallery-heading" });
  const intro = el("p", { className: "gallery-intro hint" });
  section.replaceChildren(el("div", { className: "gallery-head" }, [heading, intro]), list, look);

  function card(entry) {
    const button = el(
      "button",
      {
        type: "button",
        className: "gallery-card",
        "data-testid": `gallery-open-${entry.name || entry.task}`,
        dataset: { task: entry.task, modelId: entry.model_id },
        "aria-pressed": String(view.active === entry),
      },
      [el("span", { className: "gallery-card-title", text: localized(entry.title, language()) })],
    );
    button.addEventListener("click", () => send("viz:use-model", openRequest(entry)));
    return el("div", { role: "listitem" }, [button]);
  }

  function randomCard() {
    const random = !view.active && view.runConfig && !view.runConfig.modelId;
    const button = el(
      "button",
      { type: "button", className: "gallery-card gallery-random", "data-testid": "gallery-random", "aria-pressed": String(Boolean(random)) },
      [el("span", { className: "gallery-card-title", text: t("gallery.random") }), el("span", { className: "gallery-card-note", text: t("gallery.random.hint") })],
    );
    button.addEventListener("click", () => send("viz:random"));
    return el("div", { role: "listitem" }, [button]);
  }

  function watchText(entry) {
    const { layer, units, quantities } = watchSelection(entry);
    return units.map((u) => t("gallery.watchUnit", { quantities: quantities[u].join(", "), unit: u, layer })).join("; ");
  }

  function lookAt(entry) {
    const lang = language();
    const steps = keySteps(entry);
    const stepButtons = steps.map((s) => {
      const b = el("button", { type: "button", className: "gallery-step", "data-testid": "gallery-step", dataset: { step: s }, text: t("gallery.step", { t: s }) });
      b.addEventListener("click", () => send("viz:jump", { step: s }));
      return b;
    });
    const metrics = el(
      "dl",
      { className: "gallery-metrics", "data-testid": "gallery-metrics" },
      Object.entries(entry.metrics || {}).flatMap(([name, value]) => [
        el("dt", { text: metricLabel(name) }),
        el("dd", { text: typeof value === "number" ? sig4(value) : String(value) }),
      ]),
    );
    return [
      el("div", { className: "gallery-look-text" }, [
        el("h3", { className: "gallery-title", "data-testid": "gallery-title", text: localized(entry.title, lang) }),
        el("p", { className: "gallery-what" }, [
          el("b", { text: `${t("gallery.look")}: ` }),
          el("span", { "data-testid": "gallery-what", text: localized(entry.what_to_look_for, lang) }),
        ]),
        el("p", { className: "gallery-watch", "data-testid": "gallery-watch" }, [
          el("span", { text: `${t("gallery.watch")} ` }),
          el("b", { text: watchText(entry) }),
        ]),
        steps.length ? el("p", { className: "gallery-steps" }, [el("span", { text: `${t("gallery.steps")} ` }), ...stepButtons]) : null,
      ]),
      el("div", { className: "gallery-look-figures" }, [el("h4", { text: t("gallery.metrics") }), metrics]),
    ];
  }

  function render() {
    heading.textContent = t("gallery.heading");
    intro.textContent = t("gallery.intro");
    list.replaceChildren(...view.models.map(card), randomCard());
    section.dataset.active = view.active ? view.active.task : view.runConfig ? (view.runConfig.modelId ? "other" : "random") : "";
    if (view.failed) look.replaceChildren(el("p", { className: "hint", text: t("gallery.unavailable") }));
    else if (view.active) look.replaceChildren(...lookAt(view.active));
    else if (view.runConfig) look.replaceChildren(el("p", { className: "hint", text: t(view.runConfig.modelId ? "gallery.otherOn" : "gallery.randomOn") }));
    else look.replaceChildren();
    section.hidden = !view.models.length && !view.failed;
  }

  document.addEventListener("viz:run", (event) => {
    view.runConfig = event.detail.config;
    view.active = entryOfRun(view.models, view.runConfig);
    render();
  });
  document.addEventListener("viz:lang", render);
  section.hidden = true;

  return {
    /** The gallery's models (GET /api/gallery's list), or null when it did not answer. */
    setModels(models) {
      view.failed = !Array.isArray(models);
      view.models = Array.isArray(models) ? models : [];
      view.active = entryOfRun(view.models, view.runConfig);
      render();
      section.dataset.ready = "true";
    },
    get models() {
      return view.models;
    },
  };
}
