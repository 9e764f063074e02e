#!/usr/bin/env node
'use strict';
require('./launch')('lrp-parallel-demo');
