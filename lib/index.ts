/**
 * caffe-lrp: Layer-wise Relevance Propagation for trained Caffe classifiers.
 *
 *   const net = await Net.load({ prototxt, caffemodel });
 *   const { scores, heatmaps } = await net.explain(input, { rule: 'epsilon', targets: 'top1' });
 */
export { Net } from './net';
export type { LoadOptions, LayerInfo, LayerConservation, Target, ExplainOptions, Explanation, RelevanceResult } from './net';
export { rankClasses } from './net';
export type { Heatmap, ChannelOrder } from './heatmap';
export type { RelPropOptions } from './relevance/options';
export { FORMULA_TYPES, RULE_NAMES } from './relevance/options';
export { CaffeLrpError } from './errors';
export type { CaffeLrpErrorCode } from './errors';
export { loadNetSpec, loadNetSpecSync, loadMean, loadLabels, saveCaffemodel, savePrototxt, parsePrototxt } from './caffe';
export type { NetSpec, LayerSpec, BlobData, InputSpec } from './caffe/netspec-types';
export type { MeanImage } from './caffe/mean';
export { readNpy, parseNpy, encodeNpy } from './io/npy';
export { writeNpy, npyToFloat32 } from './io/npy';
export { readNpz, parseNpz } from './io/npz';
export { parseTextMatrix, readTextMatrix, formatTextMatrix, writeTextMatrix } from './io/text-matrix';
export type { LayerRulesOption, LayerRuleOption, Semantics } from './relevance/layer-rules';
/** The LRP Toolbox's own text model format, rules and rendering helpers. */
export * as toolbox from './toolbox';
export { demoModel } from './demo-model';
/** The canonizers as model rewriting on a NetSpec (explain applies them itself under semantics 'zennit'). */
export { canonize, planCanonize, type CanonizePlan } from './canonize';
export type { DemoModel } from './demo-model';

/** Images in, explanations and pictures out (issue 13): preprocessing, rendering, the original's output files. */
export type { NetInput, AsInputtedImage, PreprocessedImage, ImageExplanation } from './net';
export type { ImageSource, RawPixels, Resampler } from './image/preprocess';
export type { PreprocessSettings } from './image/settings';
export type { MeanMode } from './image/mean';
export type { RuleName, FormulaType } from './relevance/options';
export { DEFAULT_RULE } from './relevance/options';
export { COLORMAP_NAMES } from './image/colormaps';
export type { ColormapName } from './image/colormaps';
export { renderHeatmap, overlayHeatmap } from './image/render';
export type { RenderOptions, OverlayOptions, Rgb8Image } from './image/render';
export { formatRawhm, writeRawhm, formatTopScores, writeTopScores } from './outputs/text-files';
export { writeFileAtomic } from './outputs/atomic-write';

// Limits: the memory budget every input-sized allocation is checked against.
export { memoryBudget, setMemoryBudget, parseByteSize } from './memory-budget';
export type { MemoryBudget } from './memory-budget';

/** ONNX models: read, check and lower to the NetSpec the engine runs (Net.load({ onnx }) uses them). */
export { loadOnnxNetSpec, loadOnnxNetSpecSync, decodeOnnxModel, lowerOnnxModel, isOnnxContent, SUPPORTED_ONNX_OPS } from './onnx';
export type { OnnxNetSpec, OnnxLayerSpec, OnnxOrigin, OnnxModel } from './onnx';
