// ES module entry point: re-exports the CommonJS build (dist/lib/index.js), so
// `import { Net } from 'caffe-lrp'` and `require('caffe-lrp')` share one module instance.
import cjs from '../../dist/lib/index.js';

export const {
  Net, rankClasses, FORMULA_TYPES, RULE_NAMES, CaffeLrpError, loadNetSpec, loadNetSpecSync, loadMean, loadLabels,
  saveCaffemodel, savePrototxt, parsePrototxt, readNpy, parseNpy, encodeNpy, writeNpy, npyToFloat32, readNpz, parseNpz,
  parseTextMatrix, readTextMatrix, formatTextMatrix, writeTextMatrix, toolbox,
} = cjs;
export const {
  DEFAULT_RULE, COLORMAP_NAMES, renderHeatmap, overlayHeatmap, formatRawhm, writeRawhm, formatTopScores, writeTopScores,
  writeFileAtomic, demoModel,
} = cjs;
export const { memoryBudget, setMemoryBudget, parseByteSize } = cjs;
// ONNX front end
export const { loadOnnxNetSpec, loadOnnxNetSpecSync, decodeOnnxModel, lowerOnnxModel, isOnnxContent, SUPPORTED_ONNX_OPS } = cjs;
// canonizers (Zennit's model rewriting)
export const { canonize, planCanonize } = cjs;
export default cjs;
