#!/usr/bin/env node
'use strict';
// `lrp-queue ...`: a demonstrator run spread over workers through BullMQ on Redis (demonstrator/queue/cli.ts).
require('./launch')('lrp-queue', 'queue/cli');
