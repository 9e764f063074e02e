import { convOutSize, poolOutSize } from '../../lib/caffe/shapes';

describe('Caffe output-size formulas', () => {
  test('convolution: floor((in + 2 pad - (dil (k - 1) + 1)) / stride) + 1', () => {
    expect(convOutSize(28, 5, 0, 1, 1)).toBe(24);
    expect(convOutSize(227, 11, 0, 4, 1)).toBe(55);
    expect(convOutSize(32, 3, 1, 2, 1)).toBe(16);
    expect(convOutSize(30, 3, 2, 1, 2)).toBe(30);
    expect(convOutSize(8, 3, 0, 2, 1)).toBe(3);
    expect(convOutSize(2, 5, 0, 1, 1)).toBeLessThan(1);
  });

  test('pooling: ceil by default, floor on request', () => {
    expect(poolOutSize(32, 3, 0, 2, 'CEIL')).toBe(16);
    expect(poolOutSize(16, 3, 0, 2, 'CEIL')).toBe(8);
    expect(poolOutSize(55, 3, 0, 2, 'CEIL')).toBe(27);
    expect(poolOutSize(13, 3, 0, 2, 'CEIL')).toBe(6);
    expect(poolOutSize(6, 3, 0, 2, 'CEIL')).toBe(3);
    expect(poolOutSize(6, 3, 0, 2, 'FLOOR')).toBe(2);
    expect(poolOutSize(24, 2, 0, 2, 'CEIL')).toBe(12);
  });

  test('pooling clip rule: with padding, a last window starting in the padding is dropped', () => {
    // ceil((5 + 2 - 2) / 2) + 1 = 4; window 3 would start at 3 * 2 = 6 >= 5 + 1 → 3.
    expect(poolOutSize(5, 2, 1, 2, 'CEIL')).toBe(3);
    // ceil((6 + 2 - 3) / 2) + 1 = 4; last window starts at 6 < 6 + 1 → kept.
    expect(poolOutSize(6, 3, 1, 2, 'CEIL')).toBe(4);
    // Without padding there is no clipping even if the last window hangs over the edge.
    expect(poolOutSize(6, 3, 0, 2, 'CEIL')).toBe(3);
  });
});
