/**
 * A run's manifest: one JSON line per image of the list, in list order (by list line), with
 * its status, the files written for it and the reason it failed. `lrp-parallel-demo --manifest`
 * and `lrp-queue` write the same lines for the same list, so a distributed run can be checked
 * against a single one. Written atomically: a reader never sees half a manifest.
 */
import type { FileListEntry, OutputFiles } from '../filelist';
import { writeFileAtomic } from '../../lib/outputs/atomic-write';

export interface ManifestRecord {
  /** The image path as read (prefix + "/" + list entry). */
  image: string;
  /** 1-based line of the list file. */
  line: number;
  status: 'done' | 'failed';
  /** Absolute output files of a done image ([] for a failed one). */
  outputs: string[];
  /** Why the image failed (one line). */
  error?: string;
}

export function manifestRecord(entry: FileListEntry, minimal: boolean, files: OutputFiles | undefined, error: string | undefined): ManifestRecord {
  if (error !== undefined || files === undefined) {
    return { image: entry.imagePath, line: entry.line, status: 'failed', outputs: [], error: error ?? 'no output files' };
  }
  const outputs = minimal ? [files.rawhm, files.scores] : [files.rawhm, files.scores, files.heatmap, files.asInputted];
  return { image: entry.imagePath, line: entry.line, status: 'done', outputs };
}

/** The manifest text: records sorted by list line, one JSON object per line. */
export function manifestText(records: ManifestRecord[]): string {
  return [...records]
    .sort((a, b) => a.line - b.line)
    .map((r) => `${JSON.stringify({ image: r.image, line: r.line, status: r.status, outputs: r.outputs, ...(r.error === undefined ? {} : { error: r.error }) })}\n`)
    .join('');
}

export async function writeManifest(file: string, records: ManifestRecord[]): Promise<void> {
  await writeFileAtomic(file, manifestText(records));
}

/** `<standalone_outpath>/lrp-manifest-<run>.jsonl`. */
export function manifestPath(outPath: string, run: string): string {
  return `${outPath}/lrp-manifest-${run}.jsonl`;
}
