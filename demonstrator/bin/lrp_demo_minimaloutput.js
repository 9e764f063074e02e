#!/usr/bin/env node
'use strict';
require('./launch')('lrp_demo_minimaloutput');
