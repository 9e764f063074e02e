/**
 * The LRP Toolbox's own formats and conventions: its plain-text models (read, write, run in
 * the engine), its rule semantics (`semantics: 'toolbox'` in the relevance options), its
 * channels-last layout and its rendering helpers.
 *
 *   const net = await loadToolboxNet('LeNet-5.txt', { inputShape: [32, 32, 1] });
 *   const x = nhwcToNchw(digits, [n, 32, 32, 1]);
 *   const { heatmaps } = await net.explain(x, { semantics: 'toolbox', rule: 'epsilon', epsstab: 0.01 });
 */
import { Net } from '../net';
import { readToolboxModel, type ToolboxModel } from './model';
import { toolboxToNetSpec, type ToolboxNetSpecOptions } from './netspec';

export * from './model';
export * from './netspec';
export * from './layout';
export { toolboxLayerRule, toolboxRulesFor, SIMPLE_EPSILON, SUMPOOL_SIMPLE_EPSILON } from './policy';

/** Loads a toolbox text model (a path, or a parsed model) into a Net ready for forward() and explain(). */
export async function loadToolboxNet(model: string | ToolboxModel, options: ToolboxNetSpecOptions = {}): Promise<Net> {
  const parsed = typeof model === 'string' ? await readToolboxModel(model) : model;
  return new Net(toolboxToNetSpec(parsed, options));
}

// Training: the toolbox's Sequential.train on the native engine.
export { train, type TrainOptions, type TrainResult, type TrainStatus, type TrainArray, type LrateDecay } from './train';
export { TrainRng } from './train-rng';
export { initToolboxModel, LONG_RECT_ARCHITECTURE, LENET_LIKE_ARCHITECTURE } from './train-init';
