#!/usr/bin/env node
'use strict';
// `caffe-lrp serve ...`: the heatmap service (demonstrator/serve/cli.ts).
require('./launch')('caffe-lrp', 'serve/cli');
