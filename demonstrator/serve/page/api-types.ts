/// <reference lib="dom" />
/** The JSON the page reads from the service (a subset of demonstrator/serve/schemas.ts). */
export interface Parameter {
  name: string;
  label: string;
  type: 'number' | 'integer';
  minimum: number;
  default: number;
  step: number;
}

export interface RuleOrComposite {
  name: string;
  description: string;
  parameters: Parameter[];
}

export interface ModelInfo {
  name: string;
  classes: { index: number; label: string }[];
  rules: RuleOrComposite[];
  composites: RuleOrComposite[];
  colormaps: string[];
  defaults: Record<string, unknown>;
}

export interface Explanation {
  top: { class: number; label: string; score: number }[];
  explained: { class: number; label: string }[];
  image: { png: string };
  heatmap: { png: string };
  overlay: { png: string };
  relevance?: { npy: string; shape: number[] };
  conservation: { seeded: number | null; input: number };
  timings: { totalMs: number; engineMs: number };
}
