// Every wait in the suite has a deadline, and a wait that runs out says what it was waiting for,
// so a broken broker fails a test quickly and readably instead of hanging the run.

export function with_deadline(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Polls a condition that has no event of its own (a file appearing, a process state).
export async function wait_until(condition, ms, what, poll_ms = 20) {
  const end = Date.now() + ms;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(poll_ms);
  }
}
