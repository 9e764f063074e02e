import { formatDuration, Progress, ProgressStream, summaryLine } from '../../demonstrator/progress';

class Sink implements ProgressStream {
  out = '';
  constructor(
    public isTTY: boolean,
    public columns = 100,
  ) {}
  write(s: string) {
    this.out += s;
    return true;
  }
}

describe('progress bar', () => {
  test('draws on a TTY: done/total, rate, ETA; redraws in place', () => {
    let t = 0;
    const sink = new Sink(true);
    const p = new Progress(10, { stream: sink, now: () => t, interval: 0, env: {} });
    t = 2000;
    p.tick(4);
    expect(sink.out).toBe('\r\x1b[K[############------------------] 4/10 images, 2.00 img/s, ETA 00:03');
    t = 5000;
    p.tick(6, 1);
    expect(sink.out.endsWith('[##############################] 10/10 images, 1 failed, 2.00 img/s, ETA 00:00')).toBe(true);
    p.finish();
    expect(sink.out.endsWith('\r\x1b[K')).toBe(true);
  });

  test('nothing on a non-TTY stream or with quiet', () => {
    for (const [tty, quiet] of [
      [false, false],
      [true, true],
    ]) {
      const sink = new Sink(tty);
      const p = new Progress(3, { stream: sink, quiet });
      p.tick();
      p.tick(2);
      p.finish();
      expect(sink.out).toBe('');
    }
  });

  test('redraws are throttled, the last one always drawn', () => {
    let t = 0;
    const sink = new Sink(true);
    const p = new Progress(100, { stream: sink, now: () => t, interval: 100, env: {} });
    for (let i = 0; i < 100; i++) {
      t += 10;
      p.tick();
    }
    const draws = sink.out.split('\r\x1b[K').filter((s) => s).length;
    expect(draws).toBeLessThanOrEqual(11);
    expect(sink.out.endsWith('100/100 images, 100.0 img/s, ETA 00:00')).toBe(true);
  });

  test('log() prints a message above the bar and redraws it; plain lines when not a TTY', () => {
    const sink = new Sink(true);
    const p = new Progress(2, { stream: sink, interval: 0, now: () => 1000, env: {} });
    p.tick();
    sink.out = '';
    p.log('image x: failed');
    expect(sink.out.startsWith('\r\x1b[Kimage x: failed\n\r\x1b[K[')).toBe(true);
    const plain = new Sink(false);
    new Progress(2, { stream: plain }).log('msg');
    expect(plain.out).toBe('msg\n');
  });

  test('unknown rate: ETA --:--', () => {
    const p = new Progress(5, { stream: new Sink(false), now: () => 0 });
    expect(p.line(0)).toContain('ETA --:--');
  });
});

describe('summary and durations', () => {
  test('formatDuration', () => {
    expect(formatDuration(0)).toBe('00:00');
    expect(formatDuration(65)).toBe('01:05');
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(Infinity)).toBe('--:--');
  });

  test('summaryLine', () => {
    expect(summaryLine(12, 1, 3.4)).toBe('12 images in 3.4 s (3.53 img/s): 11 written, 1 failed');
    expect(summaryLine(1, 0, 90)).toBe('1 image in 01:30 (0.01 img/s): 1 written, 0 failed');
  });
});

describe('plain terminals', () => {
  test('TERM=dumb or a non-empty NO_COLOR: no bar and no escape codes, messages still printed', () => {
    for (const env of [{ TERM: 'dumb' }, { NO_COLOR: '1' }, { NO_COLOR: 'yes', TERM: 'xterm' }]) {
      const sink = new Sink(true);
      const p = new Progress(2, { stream: sink, interval: 0, now: () => 0, env });
      p.tick();
      p.log('image failed');
      p.tick();
      p.finish();
      expect(sink.out).toBe('image failed\n');
    }
  });
});
