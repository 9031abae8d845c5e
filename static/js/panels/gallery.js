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
import { tourStops } from "./gallerytour.js";

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
  "gallery.metric.grad_h1_over_hT": "gradient reaching t = 1: ‖dL/dh₁‖ / ‖dL/dh‖ at t = T (median)",
  "gallery.metric.z_marked": "update gate z at marked steps",
  "gallery.metric.z_unmarked": "update gate z at unmarked steps",
  "gallery.metric.bits_per_character": "bits per character (held-out files)",
  "gallery.metric.baseline_bits_per_character": "bits per character from the characters' frequencies alone (no context)",
  "gallery.metric.next_character_accuracy": "next character right",
  "gallery.metric.in_indentation_unit_r": "cell unit vs reading leading spaces (r)",
  "gallery.metric.in_string_unit_r": "cell unit vs inside a string literal (r)",
  "gallery.metric.column_unit_r": "cell unit vs position in the line (r)",
  "gallery.metric.indent_unit_r": "cell unit vs the line's indentation (r)",
  "gallery.metric.in_indentation_unit_accuracy": "leading vs inner spaces told apart by the unit",
  "gallery.metric.baseline_in_indentation_accuracy": "the same by always guessing the more common kind",
  "gallery.tour": "Guided path",
  "gallery.tour.intro": "Four stops through the views, each read from this run's numbers. Press a stop to show it.",
  "gallery.tour.off": "The guided path reads this model's own example sequence; open the model again to follow it.",
  "gallery.tour.view.diagram": "Diagram",
  "gallery.tour.view.cell": "Cell view",
  "gallery.tour.view.heatmaps": "Heatmaps",
  "gallery.tour.view.flow": "Gradient flow",
  "gallery.tour.stop": "{view}: {mode}, t = {t}",
  "tour.add.lstm.diagram": "The first marked value ({v1}) arrives at t = {m1}. In the diagram, the input gate strip of unit {u} is dark here (the gates' scale runs from white at 0 to black at 1): i = {g1}, and i = {g2} at the second mark (t = {m2}). Over the other {n} steps it averages {gRest}: the gate lets almost nothing else in.",
  "tour.add.gru.diagram": "The first marked value ({v1}) arrives at t = {m1}. In the diagram, the update gate z of unit {u} drops here: z = {g1}, and z = {g2} at the second mark (t = {m2}). Over the other {n} steps it averages {gRest}, close to 1: there h keeps what it holds (h = (1 − z) ⊙ n + z ⊙ h_prev).",
  "tour.add.gated.cell": "In the cell view at t = {m2}: {q} of unit {u} changes by {d1} at t = {m1} and by {d2} here, the two steps whose values count. At every other step it changes by at most {dMax}.",
  "tour.add.gated.heatmaps": "In the heatmaps, row {u} of {q} keeps what it took in: {s2} after t = {m2}, {sT} at t = {T}. There the head reads it: y = {y}, and the target is {target} ({v1} + {v2}).",
  "tour.add.rnn.diagram": "The first marked value ({v1}) arrives at t = {m1}. A plain RNN has no gate that could choose to keep it: every step writes hₜ = tanh(Wᵢₕxₜ + bᵢₕ + Wₕₕhₜ₋₁ + bₕₕ), and here h of unit {u} changes by {d1}.",
  "tour.add.rnn.cell": "In the cell view at t = {m2}: h of unit {u} changes by {d1} at t = {m1} and by {d2} here, and by {dMean} on average (at most {dMax}) at the unmarked steps: every input moves it, marked or not.",
  "tour.add.rnn.heatmaps": "In the heatmaps, compare the rows of h at the marked steps with the rest. At t = {T} the head answers y = {y}; the target is {target} ({v1} + {v2}). Over 1,000 fresh sequences its mean squared error ({mse}) is no better than always answering the mean ({baseline}).",
  "tour.rnn": "Backward: ‖dL/dh‖ is {ge} at t = {e} and {gk} at t = {k}, a fraction {ratio} of it. Each step back multiplies the gradient by Wₕₕᵀ and tanh's derivative, and here that shrinks it step after step: the error at the end cannot teach the weights what to keep from the first steps.",
  "tour.lstm.kept": "Backward, t = {k}: dL/dc of unit {u} is {gk} here and {ge} at t = {e}. On the way back the cell path multiplies the gradient by the forget gate f at every step; the product of unit {u}'s forget gates from t = {k1} to t = {e} is {prod}, so the gradient still reaches this step along the cell path.",
  "tour.lstm.faded": "Backward, t = {k}: dL/dc of unit {u} is {gk} here and {ge} at t = {e}. On the way back the cell path multiplies the gradient by the forget gate f at every step; the product of unit {u}'s forget gates from t = {k1} to t = {e} is {prod}, so along the cell path little of it reaches this step.",
  "tour.gru.kept": "Backward, t = {k}: dL/dh of unit {u} is {gk} here and {ge} at t = {e}. The GRU's direct path back multiplies dh by the update gate z at every step (dhₜ₋₁ receives dhₜ ⊙ zₜ); the product of unit {u}'s z from t = {k1} to t = {e} is {prod}, so the gradient still reaches this step along that path.",
  "tour.gru.faded": "Backward, t = {k}: dL/dh of unit {u} is {gk} here and {ge} at t = {e}. The GRU's direct path back multiplies dh by the update gate z at every step (dhₜ₋₁ receives dhₜ ⊙ zₜ); the product of unit {u}'s z from t = {k1} to t = {e} is {prod}, so along that path little of it reaches this step.",
  "tour.order.diagram": "The first of the two symbols that decide the class, {s1}, arrives at t = {p1} among the distractors c and d. In the diagram, the input gate of unit {ua} is i = {i1} here; at the other steps it averages {iRest}.",
  "tour.order.cell": "Right after the first symbol, c of unit {ua} is {c1}; just before the second (t = {pre}) it is {cPre}. Read with one threshold, this unit names the first symbol (X or Y) in {acc} of 1,000 fresh sequences before the second one arrives.",
  "tour.order.heatmaps": "At t = {p2} the second symbol, {s2}, arrives, and c of unit {ub} changes by {d2}. Read with one threshold, unit {ub} names the second symbol in {acc} of 1,000 fresh sequences. At t = {T} the model answers {answer} (p = {p}); the target is {target}.",
  "tour.copy.diagram": "Steps 1 to {L} bring the symbols {symbols}. Then the network waits {delay} steps, the last of them (t = {go}) carrying the go signal; after it, it must repeat the symbols.",
  "tour.copy.cell": "During the wait (t = {w1} to {w2}), c of unit {ua} changes by {slope} per step on average, from {a0} to {a1}, while c of unit {ub} stays between {bMin} and {bMax}. A linear read-out of the whole cell state finds the symbols seen at every waiting step; at the worst step it names {readout} of them right, over 1,000 fresh sequences.",
  "tour.copy.heatmaps": "In the heatmaps, see how rows {ua} and {ub} of c change after the go signal at t = {go}. From t = {r1} to t = {r2} the network repeats: it answers {answers} for the targets {targets}.",
  "tour.dyck.diagram": "At t = {t} the nesting depth reaches {depth}, the deepest point of this string. In the diagram, c of unit {u} is {c} here.",
  "tour.dyck.cell": "In this string, each '(' changes c of unit {u} by {open} on average and each ')' by {close}: the cell counts the open brackets.",
  "tour.dyck.heatmaps": "In the heatmaps, row {u} of c follows the depth: r = {r} between c and the depth over this string's {T} steps, and r = {rAll} over 1,000 fresh sequences.",
  "tour.reber.diagram": "At t = 2 the symbol {choice} chooses the outer branch: after the inner string (t = 3 to t = {innerEnd}) the string must repeat {choice} before its final E. Nothing inside the inner string tells which it was.",
  "tour.reber.cell": "At t = {innerEnd}, where the inner string ends, c of unit {u} is {c}. Read with one threshold at this point, this unit tells T from P in {acc} of 1,000 fresh strings.",
  "tour.reber.heatmaps": "In the heatmaps, follow row {u} of c from t = 3 to t = {innerEnd}. After reading the inner E (t = {innerEnd}) the model predicts the next symbol: output {yChoice} for {choice}, the right one, and {yOther} for {other}. Every prediction is valid in {acc} of 1,000 fresh strings.",
  "tour.code.diagram": "At t = {t} the first indentation space of a line arrives; c of unit {u} is {c} here. Over this text it averages {lead} on leading spaces and {inner} on spaces inside a line. On the held-out source files, one threshold on this unit tells the two kinds of space apart {acc} of the time.",
  "tour.code.cell": "At t = {t} a string literal begins. Over this text, c of unit {u} averages {inside} inside string literals and {outside} outside them.",
  "tour.code.heatmaps": "In the heatmaps, compare row {u} of c with the position in the line: r = {r} over this text, r = {rAll} on the held-out source files.",
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
  "gallery.metric.grad_h1_over_hT": "t = 1까지 전해지는 기울기: ‖dL/dh₁‖ / t = T의 ‖dL/dh‖ (중앙값)",
  "gallery.metric.z_marked": "표시된 시점의 업데이트 게이트 z",
  "gallery.metric.z_unmarked": "표시 없는 시점의 업데이트 게이트 z",
  "gallery.metric.bits_per_character": "문자당 비트 수 (학습에 쓰지 않은 파일)",
  "gallery.metric.baseline_bits_per_character": "문맥 없이 문자 빈도만 쓸 때의 문자당 비트 수",
  "gallery.metric.next_character_accuracy": "다음 문자를 맞힌 비율",
  "gallery.metric.in_indentation_unit_r": "셀 유닛과 줄 앞 공백 읽기의 상관 (r)",
  "gallery.metric.in_string_unit_r": "셀 유닛과 문자열 리터럴 안쪽의 상관 (r)",
  "gallery.metric.column_unit_r": "셀 유닛과 줄 안 위치의 상관 (r)",
  "gallery.metric.indent_unit_r": "셀 유닛과 줄의 들여쓰기의 상관 (r)",
  "gallery.metric.in_indentation_unit_accuracy": "유닛으로 구별한 줄 앞 공백과 줄 안쪽 공백",
  "gallery.metric.baseline_in_indentation_accuracy": "늘 더 흔한 쪽으로 찍을 때의 같은 비율",
  "gallery.tour": "따라가며 보기",
  "gallery.tour.intro": "네 가지 보기를 차례로 들러요. 설명의 수치는 모두 이번 실행에서 읽은 값이에요. 단계를 누르면 그 보기를 보여 줘요.",
  "gallery.tour.off": "따라가며 보기는 이 모델에 딸린 예제 시퀀스를 읽어요. 따라가려면 모델을 다시 열어 주세요.",
  "gallery.tour.view.diagram": "펼친 그림",
  "gallery.tour.view.cell": "셀 보기",
  "gallery.tour.view.heatmaps": "히트맵",
  "gallery.tour.view.flow": "기울기 흐름",
  "gallery.tour.stop": "{view}: {mode}, t = {t}",
  "tour.add.lstm.diagram": "첫 번째 표시된 값({v1})이 t = {m1}에 들어와요. 펼친 그림에서 {u}번 유닛의 입력 게이트 띠가 여기서 진해요(i = {g1}, 게이트 눈금은 0이 흰색, 1이 검은색이에요). 두 번째 표시 시점 t = {m2}에서도 진해요(i = {g2}). 나머지 {n}개 시점에서는 평균 {gRest}에 머물러요. 게이트가 다른 값은 거의 들이지 않는 거예요.",
  "tour.add.gru.diagram": "첫 번째 표시된 값({v1})이 t = {m1}에 들어와요. 펼친 그림에서 {u}번 유닛의 업데이트 게이트 z가 여기서 작아져요(z = {g1}). 두 번째 표시 시점 t = {m2}에서도 작아요(z = {g2}). 나머지 {n}개 시점에서는 평균(z = {gRest})이 1에 가까워요. 그런 시점에서 h는 지닌 값을 그대로 유지해요(h = (1 − z) ⊙ n + z ⊙ h_prev).",
  "tour.add.gated.cell": "t = {m2}의 셀 보기예요. {u}번 유닛의 {q} 값은 t = {m1}에서 {d1}만큼, 여기서 {d2}만큼 바뀌어요. 이 두 시점의 값이 답에 들어가요. 다른 시점에서는 한 번에 많아야 {dMax}만큼 바뀌어요.",
  "tour.add.gated.heatmaps": "히트맵에서 {u}번 유닛의 {q} 행은 받아들인 값을 지녀요(t = {m2} 뒤 {s2}, t = {T}에서 {sT}). 출력층은 그 시점에서 이 값을 읽어요(y = {y}, 목표값 {target} = {v1} + {v2}).",
  "tour.add.rnn.diagram": "첫 번째 표시된 값({v1})이 t = {m1}에 들어와요. 기본 RNN에는 이 값을 지닐지 고르는 게이트가 없어요. 시점마다 hₜ = tanh(Wᵢₕxₜ + bᵢₕ + Wₕₕhₜ₋₁ + bₕₕ) 식으로 h를 새로 써요. 여기서 {u}번 유닛의 h는 {d1}만큼 바뀌어요.",
  "tour.add.rnn.cell": "t = {m2}의 셀 보기예요. {u}번 유닛의 h는 t = {m1}에서 {d1}만큼, 여기서 {d2}만큼 바뀌어요. 그런데 표시 없는 시점에서도 평균 {dMean}만큼(많으면 {dMax}만큼) 바뀌어요. 표시가 있든 없든 모든 입력이 h를 움직여요.",
  "tour.add.rnn.heatmaps": "히트맵에서 h 행들의 표시된 시점 값을 나머지 시점과 비교해 보세요. t = {T}에서 출력층이 답을 내요(y = {y}, 목표값 {target} = {v1} + {v2}). 새 시퀀스 1,000개에서 평균 제곱 오차({mse})는 늘 평균으로 답할 때({baseline})보다 나을 게 없어요.",
  "tour.rnn": "역전파예요. t = {k}의 ‖dL/dh‖ 값({gk})은 t = {e}의 값({ge})의 {ratio}배예요. 한 시점 거슬러 올라갈 때마다 기울기에 Wₕₕᵀ와 tanh의 미분값이 곱해지는데, 여기서는 그 곱이 기울기를 계속 줄여요. 그래서 마지막 시점의 오차가 처음 시점들에서 무엇을 지녀야 하는지 가중치에 알려 주지 못해요.",
  "tour.lstm.kept": "역전파로 t = {k}에 왔어요. {u}번 유닛의 dL/dc는 여기서 {gk}, t = {e}에서 {ge}의 값을 가져요. 되돌아가는 동안 셀 경로는 시점마다 기울기에 망각 게이트 f를 곱해요. t = {k1}부터 t = {e}까지 {u}번 유닛의 망각 게이트를 모두 곱한 값({prod})이 0에 가깝지 않아서, 기울기가 셀 경로를 따라 이 시점까지 여전히 전해져요.",
  "tour.lstm.faded": "역전파로 t = {k}에 왔어요. {u}번 유닛의 dL/dc는 여기서 {gk}, t = {e}에서 {ge}의 값을 가져요. 되돌아가는 동안 셀 경로는 시점마다 기울기에 망각 게이트 f를 곱해요. t = {k1}부터 t = {e}까지 {u}번 유닛의 망각 게이트를 모두 곱한 값({prod})이 0에 가까워서, 셀 경로로는 기울기가 이 시점까지 거의 전해지지 않아요.",
  "tour.gru.kept": "역전파로 t = {k}에 왔어요. {u}번 유닛의 dL/dh는 여기서 {gk}, t = {e}에서 {ge}의 값을 가져요. GRU의 직접 경로는 거슬러 올라갈 때마다 dh에 업데이트 게이트 z를 곱해요(dhₜ₋₁에 dhₜ ⊙ zₜ가 더해져요). t = {k1}부터 t = {e}까지 {u}번 유닛의 z를 모두 곱한 값({prod})이 0에 가깝지 않아서, 기울기가 그 경로를 따라 이 시점까지 여전히 전해져요.",
  "tour.gru.faded": "역전파로 t = {k}에 왔어요. {u}번 유닛의 dL/dh는 여기서 {gk}, t = {e}에서 {ge}의 값을 가져요. GRU의 직접 경로는 거슬러 올라갈 때마다 dh에 업데이트 게이트 z를 곱해요(dhₜ₋₁에 dhₜ ⊙ zₜ가 더해져요). t = {k1}부터 t = {e}까지 {u}번 유닛의 z를 모두 곱한 값({prod})이 0에 가까워서, 그 경로로는 기울기가 이 시점까지 거의 전해지지 않아요.",
  "tour.order.diagram": "클래스를 정하는 두 기호 가운데 첫 번째({s1})가 방해 기호 c, d 사이에서 t = {p1}에 들어와요. 펼친 그림에서 {ua}번 유닛의 입력 게이트는 여기서 i = {i1}, 다른 시점에서는 평균 {iRest}의 값을 가져요.",
  "tour.order.cell": "{ua}번 유닛의 c는 첫 번째 기호 바로 뒤에 {c1}, 두 번째 기호 직전(t = {pre})에 {cPre}의 값을 가져요. 새 시퀀스 1,000개에서 이 유닛에 문턱값 하나를 적용하면, 두 번째 기호가 오기 전에 첫 번째 기호가 X인지 Y인지 {acc}의 정확도로 맞혀요.",
  "tour.order.heatmaps": "t = {p2}에 두 번째 기호({s2})가 들어오고, {ub}번 유닛의 c 값이 {d2}만큼 바뀌어요. 새 시퀀스 1,000개에서 {ub}번 유닛에 문턱값 하나를 적용하면 두 번째 기호를 {acc}의 정확도로 맞혀요. t = {T}에서 모델은 {answer}라고 답하고(p = {p}), 목표는 {target}예요.",
  "tour.copy.diagram": "t = 1부터 t = {L}까지 기호가 차례로 들어와요({symbols}). 그다음 {delay}개 시점을 기다리는데, 그 마지막 시점(t = {go})에 시작 신호가 와요. 신호 뒤에는 기호들을 되풀이해야 해요.",
  "tour.copy.cell": "기다리는 동안(t = {w1}부터 t = {w2}까지) {ua}번 유닛의 c 값은 시점마다 평균 {slope}만큼 바뀌어 {a0}에서 {a1}까지 가요. 그동안 {ub}번 유닛의 c 값은 {bMin}부터 {bMax}까지의 범위에 머물러요. 전체 셀 상태에 선형 읽기를 적용하면 기다리는 모든 시점에서 지금까지 본 기호를 찾아내요. 새 시퀀스 1,000개에서 가장 나쁜 시점에도 {readout}의 기호를 맞혀요.",
  "tour.copy.heatmaps": "히트맵에서 시작 신호(t = {go}) 뒤에 {ua}번과 {ub}번 유닛의 c 행이 어떻게 바뀌는지 보세요. t = {r1}부터 t = {r2}까지 네트워크가 기호를 되풀이해요. 답과 목표는 다음과 같아요: 답 {answers}, 목표 {targets}.",
  "tour.dyck.diagram": "t = {t}에서 중첩 깊이가 이 문자열에서 가장 깊은 {depth}에 닿아요. 펼친 그림에서 {u}번 유닛의 c는 여기서 {c}의 값을 가져요.",
  "tour.dyck.cell": "이 문자열에서 '('가 올 때마다 {u}번 유닛의 c 값이 평균 {open}만큼, ')'가 올 때마다 평균 {close}만큼 바뀌어요. 셀이 열린 괄호를 세는 거예요.",
  "tour.dyck.heatmaps": "히트맵에서 {u}번 유닛의 c 행은 깊이를 따라가요. c와 깊이는 이 문자열의 {T}개 시점에서 r = {r}, 새 시퀀스 1,000개에서 r = {rAll}의 상관을 보여요.",
  "tour.reber.diagram": "t = 2의 기호 {choice}가 바깥 갈래를 정해요. 안쪽 문자열(t = 3부터 t = {innerEnd}까지)이 끝나면 마지막 E 앞에서 {choice}를 되풀이해야 해요. 안쪽 문자열 안의 어떤 기호도 그게 무엇이었는지 알려 주지 않아요.",
  "tour.reber.cell": "안쪽 문자열이 끝나는 t = {innerEnd}에서 {u}번 유닛의 c는 {c}의 값을 가져요. 새 문자열 1,000개에서 이 시점의 이 유닛에 문턱값 하나를 적용하면 T와 P를 {acc}의 정확도로 구별해요.",
  "tour.reber.heatmaps": "히트맵에서 t = 3부터 t = {innerEnd}까지 {u}번 유닛의 c 행을 따라가 보세요. 안쪽 E를 읽은 뒤(t = {innerEnd}) 모델이 다음 기호를 예측해요. 출력값은 다음과 같아요: 맞는 기호 {choice}에 {yChoice}, {other}에 {yOther}. 새 문자열 1,000개 가운데 {acc}에서 모든 예측이 유효해요.",
  "tour.code.diagram": "t = {t}에서 줄의 첫 들여쓰기 공백이 들어와요. 여기서 {u}번 유닛의 c는 {c}의 값을 가져요. 이 텍스트 전체에서 평균을 내면 줄 앞 공백에서는 {lead}, 줄 안쪽 공백에서는 {inner}의 값이 나와요. 학습에 쓰지 않은 소스 파일에서 이 유닛에 문턱값 하나를 적용하면 두 종류의 공백을 {acc}의 정확도로 구별해요.",
  "tour.code.cell": "t = {t}에서 문자열 리터럴이 시작돼요. 이 텍스트 전체에서 {u}번 유닛의 c는 문자열 리터럴 안에서 평균 {inside}, 밖에서 평균 {outside}의 값을 가져요.",
  "tour.code.heatmaps": "히트맵에서 {u}번 유닛의 c 행을 줄 안의 위치와 비교해 보세요. 둘은 이 텍스트에서 r = {r}, 학습에 쓰지 않은 소스 파일에서 r = {rAll}의 상관을 보여요.",
};

registerStrings({ en, ko });

const metricLabel = (name) => (Object.hasOwn(i18nEn, `gallery.metric.${name}`) ? t(`gallery.metric.${name}`) : name.replace(/_/g, " "));

const send = (type, detail = {}) => document.dispatchEvent(new CustomEvent(type, { detail }));

/** Where each view of the guided path is on the page (the gradient flow: the backward diagram). */
const VIEW_TARGETS = { diagram: "#diagram-panel", cell: ".cell-panel", heatmaps: ".heat-panel", flow: "#diagram-panel" };

/** Pixels of the chosen model's explanation a card brings into view when it lies lower. */
const LOOK_SHOWN = 260;

export function createGallery(section) {
  const view = { models: [], active: null, runConfig: null, run: null, failed: false, stop: null };
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
    button.addEventListener("click", () => {
      send("viz:use-model", openRequest(entry));
      showLook();
    });
    return el("div", { role: "listitem" }, [button]);
  }

  /**
   * A card keeps the page where it is (the diagram above it redraws in place), but the chosen
   * model's explanation, under the cards, is brought up far enough to be read.
   */
  function showLook() {
    const top = look.getBoundingClientRect().top;
    const room = Math.min(LOOK_SHOWN, window.innerHeight / 2);
    if (top > window.innerHeight - room) window.scrollBy({ top: top - window.innerHeight + room, behavior: "instant" });
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

  /** The guided path: four stops, each a button that shows its pass and step, and its sentence. */
  function tour(entry) {
    const stops = tourStops(entry, view.run, view.runConfig);
    const heading = el("h4", { text: t("gallery.tour") });
    if (!stops.length) return el("div", { className: "gallery-tour", "data-testid": "gallery-tour" }, [heading, el("p", { className: "hint", text: t("gallery.tour.off") })]);
    const items = stops.map((s, n) => {
      const button = el("button", {
        type: "button",
        className: "gallery-tour-go",
        "data-testid": "gallery-tour-go",
        dataset: { view: s.view, mode: s.mode, step: s.step },
        "aria-current": view.stop === n ? "step" : "false",
        text: `${n + 1}. ${t("gallery.tour.stop", { view: t(`gallery.tour.view.${s.view}`), mode: t(`player.${s.mode}`), t: s.step })}`,
      });
      button.addEventListener("click", () => {
        view.stop = n;
        for (const b of items.map((item) => item.firstChild)) b.setAttribute("aria-current", b === button ? "step" : "false");
        send("viz:jump", { step: s.step, mode: s.mode });
        const target = document.querySelector(VIEW_TARGETS[s.view]);
        if (target) target.scrollIntoView({ block: "start" });
      });
      return el("li", { className: "gallery-tour-stop", "data-testid": "gallery-tour-stop", dataset: { view: s.view } }, [
        button,
        el("p", { className: "gallery-tour-text", "data-testid": "gallery-tour-text", text: t(`tour.${s.key}`, s.params) }),
      ]);
    });
    return el("div", { className: "gallery-tour", "data-testid": "gallery-tour" }, [
      heading,
      el("p", { className: "hint", text: t("gallery.tour.intro") }),
      el("ol", { className: "gallery-tour-stops" }, items),
    ]);
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
        tour(entry),
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
    view.run = event.detail.run;
    view.stop = null;
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
