/**
 * `--conservation`: a summary of how much relevance each layer passes on, over every image a
 * demonstrator run explained, written as `conservation.json` into the output folder
 * (standalone_outpath; `conservation.<i>of<n>.json` for `--shard i/n`, so that the shards of
 * one list do not overwrite each other). Per layer of the walk: the mean relevance entering
 * (its tops) and leaving (its bottoms) over the images, and the largest |out - in| / |in|;
 * per image: the seed (relevance entering the start layer), what arrives at the end layer, and
 * their ratio. Written atomically (lib/outputs/atomic-write).
 */
import * as path from 'path';
import type { LayerConservation } from '../lib/net';
import { writeFileAtomic } from '../lib/outputs/atomic-write';

interface LayerTotals {
  index: number;
  name: string;
  type: string;
  sumIn: number;
  sumOut: number;
  maxRelativeChange: number;
}

export interface ImageConservation {
  image: string;
  seed: number;
  atEnd: number;
  ratio: number | null;
}

export class ConservationSummary {
  private readonly layers = new Map<number, LayerTotals>();
  private readonly images: ImageConservation[] = [];

  /** One batch's report: `rows` as net.relevance gives them (top layer first), `names` the batch's images. */
  add(rows: LayerConservation[], names: string[]): void {
    for (const row of rows) {
      let t = this.layers.get(row.index);
      if (!t) this.layers.set(row.index, (t = { index: row.index, name: row.name, type: row.type, sumIn: 0, sumOut: 0, maxRelativeChange: 0 }));
      names.forEach((_, i) => {
        const a = row.in[i], b = row.out[i];
        (t as LayerTotals).sumIn += a;
        (t as LayerTotals).sumOut += b;
        const change = a === 0 ? (b === 0 ? 0 : Infinity) : Math.abs(b - a) / Math.abs(a);
        (t as LayerTotals).maxRelativeChange = Math.max((t as LayerTotals).maxRelativeChange, change);
      });
    }
    if (rows.length === 0) return;
    const first = rows[0], last = rows[rows.length - 1];
    names.forEach((image, i) => {
      const seed = first.in[i], atEnd = last.out[i];
      this.images.push({ image, seed, atEnd, ratio: seed === 0 ? null : atEnd / seed });
    });
  }

  toJSON(options: object): object {
    const n = this.images.length;
    return {
      images: n,
      options,
      layers: [...this.layers.values()].sort((a, b) => b.index - a.index).map((t) => ({
        index: t.index, name: t.name, type: t.type,
        meanIn: n ? t.sumIn / n : 0, meanOut: n ? t.sumOut / n : 0,
        // JSON has no Infinity: a layer that received nothing but passed something on
        maxRelativeChange: Number.isFinite(t.maxRelativeChange) ? t.maxRelativeChange : null,
      })),
      perImage: this.images,
    };
  }
}

/** The summary's file name in the output folder. */
export function conservationFile(outDir: string, shard?: { index: number; count: number }): string {
  return path.join(outDir, shard ? `conservation.${shard.index}of${shard.count}.json` : 'conservation.json');
}

export async function writeConservation(file: string, summary: ConservationSummary, options: object): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(summary.toJSON(options), null, 1)}\n`);
}
