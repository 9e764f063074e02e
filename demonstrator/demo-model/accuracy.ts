/**
 * Prints the bundled demo model's accuracy on the 10,000 Fashion-MNIST test images, measured
 * with our engine (`npm run demo:accuracy`). Installs Debian's dataset-fashion-mnist when it
 * is missing and we are root; otherwise says what to install.
 *
 *   node dist/demonstrator/demo-model/accuracy.js [--batch N]
 */
import { Net } from '../../lib/net';
import { CLASS_NAMES, demoModelFiles, ensureFashionMnist, evaluate, loadFashionMnist } from './fashion-mnist';

async function main(argv: string[]): Promise<number> {
  const bi = argv.indexOf('--batch');
  const batch = bi >= 0 ? Number(argv[bi + 1]) : 250;
  if (!Number.isInteger(batch) || batch < 1) {
    process.stderr.write('usage: accuracy [--batch N]\n');
    return 2;
  }
  const reason = ensureFashionMnist({ log: (m) => process.stderr.write(`${m}\n`) });
  if (reason) {
    process.stderr.write(`${reason}\n`);
    return 1;
  }
  const files = demoModelFiles();
  const net = await Net.load({ prototxt: files.prototxt, caffemodel: files.caffemodel, labels: files.labels });
  const test = loadFashionMnist('t10k');
  const t0 = Date.now();
  const ev = await evaluate(net, test, batch);
  const seconds = (Date.now() - t0) / 1000;
  // Per-class recall, so a weak class is visible at a glance.
  const perClass = CLASS_NAMES.map((name, c) => {
    let n = 0;
    let hit = 0;
    for (let i = 0; i < test.count; i++) {
      if (test.labels[i] !== c) continue;
      n++;
      if (ev.predictions[i] === c) hit++;
    }
    return `  ${String(c).padStart(2)} ${name.padEnd(12)} ${((100 * hit) / n).toFixed(1).padStart(5)}%  (${hit}/${n})`;
  });
  process.stdout.write(`demo model: ${files.caffemodel}\n`);
  process.stdout.write(`per class:\n${perClass.join('\n')}\n`);
  process.stdout.write(
    `test accuracy: ${(100 * ev.accuracy).toFixed(2)}% (${ev.correct}/${ev.count} Fashion-MNIST test images, ${seconds.toFixed(1)} s)\n`,
  );
  await net.dispose();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`demo:accuracy failed: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
