// Every user-visible string of the page, by key.  Pure: no DOM.
//
// The strings themselves are in strings.en.js and strings.ko.js beside this module (JSON objects): the
// one source both for this module and for the server, which renders the page's labels in
// the chosen language before any script runs (app/web.py).  Only the names built from the
// glossary's terms are made here.
//
// `en` and `ko` are complete (tests/js/i18n_complete.test.js checks that every key is in
// both, with the same placeholders).  A key a language lacks would fall back to English, and
// an unknown key shows as itself so it is easy to spot.  Placeholders are written {name} and
// filled from the `params` object of t().  The explanation's texts use the small markup of
// explain.js ([[f|coloured phrase]], **bold**, blank line = new paragraph).
//
// Korean is written for learners (해요체).  Terms: 순전파, 역전파, 기울기 소실, 셀 상태, 은닉 상태,
// 망각 게이트, 입력 게이트, 출력 게이트, 아다마르 곱, 슬라이스 노드, 양방향, 정방향/역방향, 투영, 편향,
// 임베딩.  They come from core/glossary.js (one per concept): term.<id> in both languages,
// and the names of the gates and states below are built from it.

import { glossaryStrings, term } from "./glossary.js";
import enStrings from "./strings.en.js";
import koStrings from "./strings.ko.js";

/** The gate and state names that carry a glossary term. */
function termNames(lang) {
  return {
    "gate.f": `${term("forgetGate", lang)} f`,
    "gate.i": `${term("inputGate", lang)} i`,
    "gate.g": `${term("candidate", lang)} g`,
    "gate.o": `${term("outputGate", lang)} o`,
    "gate.h": `${term("hiddenState", lang)} h`,
    "name.c": `${term("cellState", lang)} c`,
    "name.h": `${term("hiddenState", lang)} h`,
  };
}

// The dictionaries are the imported objects themselves, completed here and by every
// registerStrings(): one object per language however many times this module is instantiated
// (a script importing it by another URL still sees what the page registered).
export const en = Object.assign(enStrings, termNames("en"), glossaryStrings("en"));
export const ko = Object.assign(koStrings, termNames("ko"), glossaryStrings("ko"));

const dictionaries = { en, ko };
let current = "en";

/**
 * A part of the page that keeps its strings beside its code (the panels) registers them here,
 * so t() stays the one lookup and the completeness tests see every key.  A key registered
 * twice is a mistake, not an override.
 */
export function registerStrings(byLanguage) {
  for (const [lang, dict] of Object.entries(byLanguage)) {
    const target = dictionaries[lang];
    if (!target) throw new Error(`registerStrings: unknown language ${lang}`);
    for (const key of Object.keys(dict)) {
      if (Object.hasOwn(target, key) && target[key] !== dict[key]) throw new Error(`registerStrings: ${lang}.${key} is already defined`);
    }
    Object.assign(target, dict);
  }
}

/** Register (or extend) a language's dictionary; keys it lacks fall back to English. */
export function addDictionary(lang, dict) {
  dictionaries[lang] = { ...(dictionaries[lang] || {}), ...dict };
}

export function setLanguage(lang) {
  current = lang in dictionaries ? lang : "en";
  return current;
}

export function language() {
  return current;
}

/** The languages the page offers, in toggle order. */
export const LANGUAGES = Object.freeze(["en", "ko"]);

/** Does the current language (or English) have a string for `key`? */
export function hasKey(key) {
  return Object.hasOwn(dictionaries[current] || en, key) || Object.hasOwn(en, key);
}

/** The string for `key` in `lang` (default: the current language), placeholders filled. */
export function t(key, params = {}, lang = current) {
  const dict = dictionaries[lang] || en;
  let text = Object.hasOwn(dict, key) ? dict[key] : Object.hasOwn(en, key) ? en[key] : key;
  if (text.includes("{")) {
    text = text.replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
  }
  return text;
}
