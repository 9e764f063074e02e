#!/usr/bin/env node
'use strict';
require('./launch')('lrp-toolbox-demo', 'toolbox-demo');
