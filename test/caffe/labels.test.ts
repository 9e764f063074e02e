import { loadLabels, parseLabels } from '../../lib/caffe';
import { MODELS, SHARED } from '../helpers/caffe-fixtures';
import { itShared } from '../helpers/shared-data';

describe('label files', () => {
  test('synset_words style: the WordNet id is stripped', () => {
    expect(parseLabels('n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n')).toEqual(['tench, Tinca tinca', 'goldfish, Carassius auratus']);
  });

  test('plain names, CRLF, BOM, surrounding spaces', () => {
    expect(parseLabels('\uFEFFairplane\r\n automobile \r\nbird')).toEqual(['airplane', 'automobile', 'bird']);
  });

  test('a name that merely starts like an id is kept; blank lines inside keep their index; trailing ones go', () => {
    expect(parseLabels('n123 not an id\n\nthird\n\n\n')).toEqual(['n123 not an id', '', 'third']);
    expect(parseLabels('')).toEqual([]);
  });

  itShared('the shared class lists', ['models', 'vectors'], async () => {
    const imagenet = await loadLabels(`${MODELS}/imagenet-aux/imagenet-classes.txt`);
    expect(imagenet.length).toBe(1000);
    expect(imagenet[0]).toBe('tench, Tinca tinca');
    const cifar = await loadLabels(`${MODELS}/cifar10-aux/cifar10-classes.txt`);
    expect(cifar).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    const synsets = await loadLabels(`${SHARED}/vectors/models/mini-caffenet/synsets_10.txt`);
    expect(synsets.slice(0, 2)).toEqual(['class_0', 'class_1']);
  });

  test('IO errors name the file', async () => {
    await expect(loadLabels('/nonexistent/synset_words.txt')).rejects.toMatchObject({ code: 'IO', file: '/nonexistent/synset_words.txt' });
  });
});
