/**
 * The one model a service process serves: the bundled Fashion-MNIST model, explicit files
 * (--model), or a demonstrator config file (--config, whose relevance keys become the
 * defaults of requests that name no rule). Paths come from the operator only, never from a
 * request.
 */
import * as path from 'path';
import { DEFAULT_RULE, Net, demoModel, CaffeLrpError, type ColormapName, type RelPropOptions } from '../../lib/index';
import { readConfig } from '../config';

export type ModelSource =
  | { kind: 'bundled' }
  | { kind: 'files'; prototxt: string; caffemodel: string; labels?: string }
  | { kind: 'config'; file: string };

export interface ServedModel {
  net: Net;
  name: string;
  /** Relevance options of a request that names no rule. */
  defaults: RelPropOptions;
  colormap: ColormapName;
}

export async function loadServedModel(source: ModelSource = { kind: 'bundled' }): Promise<ServedModel> {
  if (source.kind === 'bundled') {
    const net = await Net.load({ prototxt: demoModel.prototxt, caffemodel: demoModel.caffemodel, labels: demoModel.labels, batchSize: 1 });
    return { net, name: net.spec.name || 'fashion-mnist', defaults: { ...DEFAULT_RULE }, colormap: 'blue-black-yellow' };
  }
  if (source.kind === 'files') {
    if (/\.onnx$/i.test(source.prototxt)) throw new CaffeLrpError('UNSUPPORTED', 'ONNX models are not supported by this build; give a prototxt and a caffemodel', { file: source.prototxt });
    const net = await Net.load({ prototxt: source.prototxt, caffemodel: source.caffemodel, labels: source.labels, batchSize: 1 });
    return { net, name: net.spec.name || path.basename(source.prototxt), defaults: { ...DEFAULT_RULE }, colormap: 'blue-black-yellow' };
  }
  const { config: c } = readConfig(source.file);
  const net = await Net.load({
    prototxt: c.paramFile,
    caffemodel: c.modelFile,
    labels: c.synsetFile,
    mean: c.meanFile,
    batchSize: 1,
    preprocess: { baseImgSize: c.baseImgSize, meanMode: c.meanMode, compat: c.compat },
  });
  const defaults: RelPropOptions = {
    relpropformulatype: c.relpropFormulaType,
    epsstab: c.epsstab,
    alphabeta_beta: c.alphabetaBeta,
    lastlayerindex: c.lastLayerIndex,
    firstlayerindex: c.firstLayerIndex,
    numclasses: c.numClasses,
    auxiliaryvariable_maxlayerindexforflatdistinconv: c.auxLayerIndex,
    lrn_backward_type: c.lrnBackwardType,
    maxpoolingtoavgpoolinginbackwardpass: c.maxPoolToAvgPool,
    biastreatmenttype: c.biasTreatmentType,
    codeexectype: c.codeExecType,
    compat: c.compat,
  };
  return { net, name: net.spec.name || path.basename(c.paramFile), defaults, colormap: c.heatmapColormap };
}
