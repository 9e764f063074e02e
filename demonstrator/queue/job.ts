/** What one queue job carries: a chunk of a run's list and the run's config by content. */
import type { FileListEntry } from '../filelist';

export interface ChunkJob {
  run: string;
  /** The config file's text, its name (for messages) and the folder its relative paths are taken from. */
  config: { text: string; file: string; cwd: string };
  /** Images of the whole list: the net's batch is shrunk to it exactly as lrp-parallel-demo does. */
  listImages: number;
  minimal: boolean;
  entries: FileListEntry[];
}
