/**
 * Class-name files: one class per line, line i = class i. Caffe's synset_words.txt
 * prefixes each name with its WordNet id (`n01440764 tench, Tinca tinca`); other lists
 * carry the plain name. Both forms are accepted and the id is stripped.
 */

/** A WordNet noun id (`n` + 8 digits) followed by whitespace at the start of a line. */
const WORDNET_ID = /^n\d{8}\s+/;

export function parseLabels(text: string): string[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n|\r/);
  // The final newline (and trailing blank lines) do not make classes; blank lines inside do,
  // so that line numbers stay class indices.
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  return lines.map((l) => l.trim().replace(WORDNET_ID, '').trim());
}
