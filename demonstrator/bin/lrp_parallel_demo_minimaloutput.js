#!/usr/bin/env node
'use strict';
require('./launch')('lrp_parallel_demo_minimaloutput');
