// The strings of the panels below the cell view (gradient flow, models, training), in every
// language.  Pure: no DOM.  i18n.js merges these into its dictionaries, so t() is the one
// lookup for the whole page and the completeness test covers them.

export const en = {};
export const ko = {};
