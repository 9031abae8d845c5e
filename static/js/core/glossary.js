// The page's terms, one per concept, in both languages, with the word the Korean edition of
// the book (밑바닥부터 시작하는 딥러닝 2) uses where it differs.  Pure: no DOM.
//
// i18n.js builds its `term.<id>` strings (and the names of the gates and states) from this
// table, the explanation shows it as a glossary, and tests/js/glossary.test.js checks that no
// Korean string uses one of a concept's `avoid` variants.  `book` is null where the book has
// no term of its own for the concept.

export const GLOSSARY = Object.freeze([
  { id: "cellState", en: "cell state", ko: "셀 상태", book: "기억 셀", avoid: ["셀 스테이트"] },
  { id: "hiddenState", en: "hidden state", ko: "은닉 상태", book: "은닉 상태", avoid: ["히든 스테이트"] },
  { id: "forgetGate", en: "forget gate", ko: "망각 게이트", book: "forget 게이트", avoid: ["삭제 게이트"] },
  { id: "inputGate", en: "input gate", ko: "입력 게이트", book: "input 게이트", avoid: [] },
  { id: "outputGate", en: "output gate", ko: "출력 게이트", book: "output 게이트", avoid: [] },
  { id: "candidate", en: "candidate", ko: "후보", book: "새로운 기억 셀", avoid: ["새 기억 후보"] },
  { id: "layer", en: "layer", ko: "층", book: "계층", avoid: ["레이어"] },
  { id: "timeStep", en: "time step", ko: "시점", book: "시각", avoid: ["타임스텝", "타임 스텝"] },
  { id: "gradient", en: "gradient", ko: "기울기", book: "기울기", avoid: ["그래디언트", "경사"] },
  { id: "derivative", en: "derivative (slope of a function)", ko: "미분값", book: "미분", avoid: ["tanh의 기울기", "활성화 함수의 기울기"] },
  { id: "vanishing", en: "vanishing gradient", ko: "기울기 소실", book: "기울기 소실", avoid: ["그래디언트 소실"] },
  { id: "exploding", en: "exploding gradient", ko: "기울기 폭발", book: "기울기 폭발", avoid: ["그래디언트 폭발"] },
  { id: "clipping", en: "gradient clipping", ko: "기울기 클리핑", book: "기울기 클리핑", avoid: ["노름 자르기", "기울기 자르기", "기울기를 잘랐", "자르지 않"] },
  { id: "bptt", en: "backpropagation through time (BPTT)", ko: "시간 역전파(BPTT)", book: "BPTT", avoid: [] },
  { id: "hadamard", en: "Hadamard product", ko: "아다마르 곱", book: "아다마르 곱", avoid: ["하다마드 곱"] },
  { id: "affine", en: "affine map", ko: "아핀 변환", book: "Affine 계층", avoid: ["어파인"] },
  { id: "sliceNode", en: "slice node", ko: "슬라이스 노드", book: "slice 노드", avoid: [] },
  { id: "logScale", en: "log scale", ko: "로그 눈금", book: null, avoid: ["로그 척도"] },
  { id: "addingProblem", en: "adding problem", ko: "덧셈 문제", book: null, avoid: ["덧셈 과제"] },
  { id: "copyTask", en: "copy task", ko: "복사 과제", book: null, avoid: ["복사 문제"] },
  { id: "temporalOrder", en: "temporal order task", ko: "시간 순서 과제", book: null, avoid: ["순서 기억 문제"] },
]);

const BY_ID = new Map(GLOSSARY.map((entry) => [entry.id, entry]));

/** A concept's term in a language ("en", "ko" or "book"). */
export function term(id, lang) {
  const entry = BY_ID.get(id);
  if (!entry) throw new Error(`glossary: unknown term ${id}`);
  return entry[lang] ?? entry.ko;
}

/** The glossary as i18n strings: term.<id> in each language (the book's word is shown beside the Korean). */
export function glossaryStrings(lang) {
  return Object.fromEntries(GLOSSARY.map((entry) => [`term.${entry.id}`, entry[lang]]));
}
