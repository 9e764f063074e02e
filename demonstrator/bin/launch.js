'use strict';
// Shared body of the command shims: runs the compiled demonstrator under the given
// command name, or says how to build it when dist/ is missing.
module.exports = function launch(command, entry = 'cli') {
  let mod;
  try {
    mod = require(`../../dist/demonstrator/${entry}.js`);
  } catch (e) {
    // only when the entry itself is missing (not a module it requires: the message's first
    // line names the missing module, the require stack below it names the entry too)
    if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).split('\n')[0].includes(`dist/demonstrator/${entry}.js`)) {
      process.stderr.write(`${command}: caffe-lrp is not built yet (dist/ is missing); run 'npm run setup' in the package folder\n`);
      process.exit(1);
    }
    throw e;
  }
  mod.runCommand(command);
};
