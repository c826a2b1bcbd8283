// The SIGKILL hook the search fault tests' child processes share: NASNET_TEST_FAULT = "point:n" kills the
// process at the n-th time the run reaches `point`; "point:n:turns" first lets `turns` event-loop turns
// run, so that the kill lands inside an asynchronous write (the controller checkpoint).
import type { FaultPoint } from '../../search/run.js';

export function faultFromEnv(spec = process.env.NASNET_TEST_FAULT ?? ''): (at: FaultPoint) => void {
  const [point, nth, turns] = spec.split(':');
  let hits = 0;
  return (at) => {
    if (at !== point || ++hits !== Number(nth)) return;
    if (turns === undefined) process.kill(process.pid, 'SIGKILL');
    let left = Number(turns);
    const tick = (): void => {
      if (--left <= 0) process.kill(process.pid, 'SIGKILL');
      else setImmediate(tick);
    };
    setImmediate(tick);
  };
}
