/**
 * Class choice for one file-list entry (behaviour spec §5.10), ranked as the original's score
 * files are (lib/outputs/ranking.ts).
 */
import { CaffeLrpError } from '../lib/errors';
import { rankClasses } from '../lib/outputs/ranking';
import type { ClassRequest } from './filelist';

export { rankClasses };

/**
 * The classes to explain for one image: top-1, top-k (the file list's −2 means top-5,
 * min(5, numclasses)), or one explicit class, which must exist (contract §1: a clear error,
 * where the original wrote past the blob). A class field that is not an integer is this
 * image's error (the run goes on).
 */
export function chooseClasses(request: ClassRequest, scores: ArrayLike<number>): number[] {
  if (request.kind === 'invalid') throw new CaffeLrpError('PARSE', request.reason);
  if (request.kind === 'class') {
    if (request.index >= scores.length) {
      throw new CaffeLrpError('OPTION', `class index ${request.index} is out of range: the net has ${scores.length} classes (0..${scores.length - 1})`);
    }
    return [request.index];
  }
  return rankClasses(scores).slice(0, Math.min(request.k, scores.length));
}
