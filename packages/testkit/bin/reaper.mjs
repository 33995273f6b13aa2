#!/usr/bin/env node
// Kills a service's process group once the process that started it is gone (e.g. after SIGKILL,
// when no exit hook runs). Usage: reaper.mjs <parentPid> <serviceProcessGroup>
const [parent, group] = process.argv.slice(2).map(Number);
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const timer = setInterval(() => {
  if (!alive(group)) process.exit(0);
  if (!alive(parent)) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // gone
    }
    process.exit(0);
  }
}, 500);
timer.unref?.();
// Keep the event loop alive while polling.
setInterval(() => {}, 1 << 30);
