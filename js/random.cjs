'use strict';
// Secure random bytes without node:crypto where the system has a
// /dev/urandom (Linux, macOS, the BSDs): loading node:crypto adds about
// 1 MB of resident memory to a process that has not loaded it yet (its
// JavaScript and the modules it pulls in), a tenth of this package's
// memory goal (README, "How it works"). Elsewhere, or when /dev/urandom
// cannot be read, node:crypto fills them.

const fs = require('node:fs');

/** `n` fresh random bytes from the system's secure generator, as a Buffer. */
function randomBytes(n) {
  const bytes = Buffer.alloc(n);
  try {
    const fd = fs.openSync('/dev/urandom', 'r');
    try {
      let at = 0;
      while (at < n) {
        const got = fs.readSync(fd, bytes, at, n - at, null);
        if (got === 0) throw new Error('/dev/urandom ended');
        at += got;
      }
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    require('node:crypto').randomFillSync(bytes);
  }
  return bytes;
}

/** A random integer from 0 to 2^47 - 1 (a broker's seed). */
const randomSeed = () => Math.floor(randomBytes(6).readUIntLE(0, 6) / 2);

module.exports = { randomBytes, randomSeed };
